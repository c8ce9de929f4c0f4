"""The house keeps its shape: layers that never import upward, platforms reached through the registry, lint and types."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_layering_contracts_in_pyproject_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_the_code_passes_ruff_lint_and_its_format_check():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    paths = ["bot", "listeners", "responders", "tests", "bench", "docs/config_reference.py"]
    lint = subprocess.run([ruff, "check", "--no-cache", *paths], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout[-4000:]
    style = subprocess.run(
        [ruff, "format", "--check", "--no-cache", *paths], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert style.returncode == 0, style.stdout[-4000:]


def test_the_packages_pass_mypy(tmp_path):
    # The cache goes to a temporary folder: a fresh check every run, nothing written into the checkout.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout


def test_no_module_imports_our_code_inside_a_function_except_behind_an_optional_dependency():
    optional = {"bot.triage.classifier.finetune", "bot.triage.classifier.e5_onnx"}  # torch, onnx
    late = []
    for path in [
        *ROOT.joinpath("bot").rglob("*.py"),
        *ROOT.joinpath("listeners").rglob("*.py"),
        *ROOT.joinpath("responders").rglob("*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.ImportFrom)
                        and node.module
                        and node.module.split(".")[0] in ("bot", "listeners", "responders")
                        and node.module not in optional
                    ):
                        late.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
    assert late == []
