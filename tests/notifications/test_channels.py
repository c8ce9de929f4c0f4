"""Channels from config: apprise URLs with secrets from the environment, and the SLA webhook of before as one."""

from __future__ import annotations

import re
from pathlib import Path

import apprise
import pytest
import yaml

from bot.config import NOTIFICATION_EVENTS, ConfigError, fill_from_environment, parse_config
from bot.notifications import events
from bot.notifications.channels import configured_channels, legacy_webhook_url


def channels(*entries):
    return parse_config({"notifications": {"channels": list(entries)}})


def test_a_secret_comes_from_the_environment_and_a_missing_one_stops_the_start_naming_it(monkeypatch):
    monkeypatch.delenv("DESK_SLACK_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"notifications\.channels\[0\]\.url.*DESK_SLACK_TOKEN is not set"):
        channels({"name": "slack", "url": "slack://${DESK_SLACK_TOKEN}/#desk"})
    with pytest.raises(ConfigError, match=r"notifications\.channels\[0\]\.users.*alex: environment variable SMTP_PW"):
        channels({"name": "mail", "users": {"alex": "mailtos://desk:${SMTP_PW}@mail.example.com"}})

    monkeypatch.setenv("DESK_SLACK_TOKEN", "T000/B000/XXXX")
    config = channels({"name": "slack", "url": "slack://${DESK_SLACK_TOKEN}/#desk"})
    # The config keeps the placeholder: the secret is filled in only when a notification is sent.
    assert config.notifications.channels[0].url == "slack://${DESK_SLACK_TOKEN}/#desk"
    assert "T000" not in config.model_dump_json()


def test_a_channel_needs_an_apprise_url_a_unique_name_and_known_events():
    with pytest.raises(ConfigError, match="must be an apprise URL"):
        channels({"name": "slack", "url": "hooks.slack.com/services/x"})
    with pytest.raises(ConfigError, match="needs a url, users, or both"):
        channels({"name": "nowhere"})
    with pytest.raises(ConfigError, match="'team' is used twice"):
        channels({"name": "team", "url": "json://127.0.0.1/a"}, {"name": "team", "url": "json://127.0.0.1/b"})
    with pytest.raises(ConfigError, match="sla-webhook"):
        channels({"name": "sla-webhook", "url": "json://127.0.0.1/a"})
    with pytest.raises(ConfigError, match=r"notifications\.channels\[0\]\.events\[0\]"):
        channels({"name": "team", "url": "json://127.0.0.1/a", "events": ["sla_brech"]})


def test_every_event_raised_is_one_a_channel_can_ask_for():
    raised = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    assert raised == set(NOTIFICATION_EVENTS)


def test_the_sla_webhook_setting_becomes_the_sla_webhook_channel(monkeypatch):
    monkeypatch.setenv("DESK_SLA_HOOK", "https://hooks.slack.com/services/T1/B2/secret3")
    config = parse_config(
        {
            "sla": {"webhook_url_env": "DESK_SLA_HOOK", "webhook_warnings": False, "webhook_max_attempts": 3},
            "notifications": {"channels": [{"name": "team", "url": "json://127.0.0.1/a"}]},
        }
    )
    team, legacy = configured_channels(config)
    assert (team.name, legacy.name, legacy.events, legacy.max_attempts) == ("team", "sla-webhook", ["sla_breach"], 3)
    assert legacy.url.startswith("jsons://hooks.slack.com/services/T1/B2/secret3?")
    assert "%3Amessage=text" in legacy.url and "rto=5" in legacy.url

    monkeypatch.delenv("DESK_SLA_HOOK")
    assert [c.name for c in configured_channels(config)] == ["team"]  # as before: no URL, no webhook


def test_the_webhook_s_own_query_parameters_are_kept():
    url = legacy_webhook_url("http://127.0.0.1:8080/hooks/abc?team=desk", 2)
    assert url.startswith("json://127.0.0.1:8080/hooks/abc?-team=desk&")


def test_the_documented_example_channels_are_urls_apprise_can_use(monkeypatch):
    text = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    for name in set(re.findall(r"\$\{(\w+)\}", text)) - {"ENV_VAR", "PW"}:
        monkeypatch.setenv(name, "T1A2B3C4D" if name.startswith("SLACK") else "123456789")
    monkeypatch.setenv(
        "TEAMS_WORKFLOW_URL",
        "https://prod-01.westus.logic.azure.com:443/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9v",
    )
    monkeypatch.setenv("SLACK_TOKEN_C", "abcdefghijklmnopqrstuvwx")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi")
    config = parse_config(example)
    urls = [u for c in config.notifications.channels for u in [c.url, *c.users.values()] if u]
    assert len(urls) == 6
    for url in urls:
        assert apprise.Apprise().add(fill_from_environment(url)), url
