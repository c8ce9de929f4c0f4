"""The registry: one entry per platform, and everything the core knows about a platform comes from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.config import AccountConfig, ConfigError, parse_config
from bot.intake.webhooks import build_webhook_router
from bot.platforms.registry import PLATFORM_NAMES, PLATFORMS, platform_named
from listeners.x import XListener
from responders.x import XResponder

BOT = Path(__file__).resolve().parents[2] / "bot"


def test_each_platform_is_named_once_by_its_listener_and_the_config_accepts_exactly_those():
    assert PLATFORM_NAMES == ("replay", "x", "facebook", "instagram")
    assert platform_named("x").listener is XListener and platform_named("x").responder is XResponder
    assert AccountConfig.model_fields["platform"].annotation.__args__ == PLATFORM_NAMES
    with pytest.raises(ConfigError, match="platform"):
        parse_config({"accounts": [{"name": "ig", "platform": "myspace"}]})
    with pytest.raises(KeyError, match="there are: replay, x, facebook, instagram"):
        platform_named("myspace")


def test_an_account_is_checked_against_what_its_own_platform_needs_and_offers():
    with pytest.raises(ConfigError, match="user_id"):
        parse_config({"accounts": [{"name": "acme-x", "platform": "x"}]})
    with pytest.raises(ConfigError, match="x has no stream 'messenger'.*mentions, search, direct_messages"):
        parse_config({"accounts": [{"name": "acme-x", "platform": "x", "user_id": "1", "listen": ["messenger"]}]})
    config = parse_config(
        {"accounts": [{"name": "acme-fb", "platform": "facebook", "page_id": "9", "listen": ["messenger"]}]}
    )
    assert config.accounts[0].listen == ["messenger"]


def test_length_limits_and_counts_come_from_each_platforms_responder():
    config = parse_config({})
    assert config.checks.platform_limits == {"replay": 280, "x": 280, "facebook": 8000, "instagram": 2200}
    assert config.checks.private_limits == {"replay": 10000, "x": 10000, "facebook": 2000, "instagram": 1000}
    link = "Details: https://example.com/" + "a" * 60
    assert platform_named("x").text_length(link) == len("Details: ") + 23
    assert platform_named("facebook").text_length(link) == len(link)


def test_every_platform_with_a_webhook_gets_its_routes_and_the_rest_none():
    config = parse_config({"accounts": [{"name": "acme-x", "platform": "x", "user_id": "1"}]})
    app = FastAPI()
    app.include_router(build_webhook_router(config, lambda account, mentions: len(mentions), environ={}))
    served = sorted(p.webhook.path for p in PLATFORMS.values() if p.webhook is not None)
    assert served == ["instagram", "meta", "x"]
    client = TestClient(app)
    assert client.get("/webhooks/x", params={"crc_token": "abc"}).status_code == 404  # no consumer secret set
    assert client.get("/webhooks/meta", params={"hub.mode": "subscribe"}).status_code == 403
    assert client.post("/webhooks/x", content=b"{}").status_code == 403  # unsigned
    assert client.post("/webhooks/replay", content=b"{}").status_code == 404  # a file pushes nothing


def test_the_core_never_branches_on_a_platform_name():
    branch = re.compile(r"""platform\s*[!=]=\s*["']""")
    offenders = [
        f"{path.relative_to(BOT.parent)}:{number}"
        for path in BOT.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if branch.search(line)
    ]
    assert offenders == []
