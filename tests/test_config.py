"""Config: validated at start-up into typed objects; a wrong key or value names its path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import ConfigError, iter_settings, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_config_is_valid_and_runs_the_demo_on_the_simulators():
    config = load_config(ROOT / "config.yaml")
    assert config.simulators.enabled
    assert {a.platform for a in config.accounts} == {"x", "facebook", "instagram"}
    ports = {config.simulators.x_port, config.simulators.graph_port, config.simulators.instagram_port}
    assert {int(a.api_base_url.rsplit(":", 1)[1]) for a in config.accounts} == ports
    assert config.storage.url.startswith("sqlite:///")


def test_an_empty_file_means_every_default(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.sla.first_response_target_minutes == 30
    assert config.accounts == []


@pytest.mark.parametrize(
    "text, path, reason",
    [
        ("brand:\n  colour: red\n", "brand.colour", "unknown setting"),
        ("sla:\n  first_response_target_minutes: soon\n", "sla.first_response_target_minutes", "integer"),
        ("accounts:\n  - name: x1\n    platform: myspace\n", "accounts[0].platform", "replay"),
        ("accounts:\n  - name: x1\n    platform: x\n", "accounts[0]", "user_id"),
        (
            "accounts:\n  - {name: a, platform: replay, path: f.jsonl, poll_interval_seconds: 0.1}\n",
            "accounts[0].poll_interval_seconds",
            "at least 1",
        ),
        ("brand:\n  handles: [acme]\n", "brand.handles", "must start with '@'"),
        ("outbox:\n  max_attempts: 0\n", "outbox.max_attempts", "greater than or equal to 1"),
        ("storage:\n  url: mysql://db/x\n", "storage.url", "SQLite and PostgreSQL are supported"),
    ],
)
def test_a_wrong_setting_names_its_path_and_the_reason(tmp_path, text, path, reason):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text))
    assert raised.value.path == path
    assert reason in raised.value.reason


def test_two_accounts_with_one_name_are_refused():
    with pytest.raises(ConfigError, match="used twice"):
        parse_config(
            {
                "accounts": [
                    {"name": "a", "platform": "replay", "path": "x"},
                    {"name": "a", "platform": "replay", "path": "y"},
                ]
            }
        )


def test_broken_yaml_says_where(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_config(write(tmp_path, "brand:\n  name: [unclosed\n"))


def test_a_cli_command_with_a_bad_config_exits_2_before_anything_runs(tmp_path):
    path = write(tmp_path, "daemon:\n  outbox_interval_seconds: -1\n")
    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert "daemon.outbox_interval_seconds" in result.output
    assert not (tmp_path / "data").exists()


def test_secrets_come_from_the_environment_named_in_the_file(tmp_path, monkeypatch):
    config = load_config(write(tmp_path, "storage:\n  url: sqlite:///a.db\n  url_env: MY_DB_URL\n"))
    assert config.database_url() == "sqlite:///a.db"
    monkeypatch.setenv("MY_DB_URL", "sqlite:///secret.db")
    assert config.database_url() == "sqlite:///secret.db"


def test_every_setting_has_one_line_of_help():
    for path, help_text in iter_settings():
        assert help_text and "\n" not in help_text, f"{path} has no one-line help"


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path for path, _ in iter_settings() if f"`{path}`" not in readme]
    assert not missing, (
        f"README's configuration reference misses {missing}; run python docs/config_reference.py --write"
    )


def test_the_bundled_config_yaml_mentions_every_setting():
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    keys = set(re.findall(r"([A-Za-z_]+):", text))
    missing = [path for path, _ in iter_settings() if path.rsplit(".", 1)[-1].replace("[]", "") not in keys]
    assert not missing, f"config.yaml does not mention {missing}"
