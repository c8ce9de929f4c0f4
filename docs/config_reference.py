"""Regenerate the README's configuration reference from the config schema: `python docs/config_reference.py --write`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Config, _nested_section, iter_settings  # noqa: E402

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"


def _field(path: str):
    model, field = Config, None
    for part in path.replace("[]", "").split("."):
        if field is not None:
            model = _nested_section(field.annotation)
        field = model.model_fields[part]
    return field


def _default(path: str) -> str:
    field = _field(path)
    if _nested_section(field.annotation) is not None and not str(field.annotation).startswith("list"):
        return "(section)"
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "(none)"
    if isinstance(value, list):
        if any(hasattr(v, "model_dump") for v in value):
            return "see config.yaml"
        return "[]" if not value else ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value) or '""'


def table() -> str:
    """The reference as a Markdown table."""
    rows = ["| setting | default | what it does |", "|---|---|---|"]
    for path, help_text in iter_settings():
        default = _default(path).replace("|", "\\|")
        rows.append(f"| `{path}` | {default} | {help_text.replace('|', '/')} |")
    return "\n".join(rows)


def main() -> int:
    """Print the table, or write it into README.md between the markers with --write."""
    if "--write" not in sys.argv:
        print(table())
        return 0
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"README.md lacks the markers {BEGIN} … {END}", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}", encoding="utf-8")
    print("README.md configuration reference updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
