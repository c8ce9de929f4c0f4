"""The command line's part in the console: the demo prints a working console login."""

from __future__ import annotations

import re

import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.clock import SystemClock
from bot.config import BUNDLED_DATA, parse_config
from bot.storage import users
from bot.storage.db import make_engine, session_factory, transaction


def test_the_demo_creates_a_console_user_and_prints_how_to_log_in(tmp_path):
    data = tmp_path / "data"
    config = {
        "data_dir": str(data),
        "storage": {"url": f"sqlite:///{data / 'demo.db'}", "url_env": None},
        "accounts": [
            {
                "name": "demo",
                "platform": "replay",
                "path": str(BUNDLED_DATA / "demo_mentions.jsonl"),
                "batch_size": 100,
                "handle": "@acme",
                "sandbox": True,
            }
        ],
        "console": {"port": 8799},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))

    result = CliRunner().invoke(main, ["--config", str(path), "demo", "--once"])

    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8799/" in result.output
    password = re.search(r"as demo with password (\S+)", result.output).group(1)
    engine = make_engine(parse_config(config).database_url())
    with transaction(session_factory(engine)) as session:
        user = users.authenticate(session, "demo", password, SystemClock().now())
        assert user.role == "admin"
    engine.dispose()
