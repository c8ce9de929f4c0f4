"""Any outside input gives a result or the project's clear error, never a traceback (property-based, hypothesis)."""

from __future__ import annotations

import json
from datetime import datetime

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import AccountConfig, ConfigError, parse_config
from bot.intake.webhooks import build_webhook_router
from bot.triage.classifier.examples import TrainingDataError, load_training_file
from bot.triage.jsonl_contract import parse_input_line
from listeners.base import MalformedItem, parse_time
from listeners.facebook import entry_mentions
from listeners.instagram import entry_mentions as instagram_entry_mentions
from listeners.replay import MalformedLine, parse_line
from listeners.x import activity_mentions

# JSON values as a platform or a user might send them: nested, any type in any place.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
KEYS = [
    "id",
    "text",
    "author",
    "age_minutes",
    "created_at",
    "channel",
    "followers",
    "thread",
    "platform",
    "lang",
    "addressed_to_brand",
    "label",
    "user",
    "id_str",
    "entry",
    "changes",
    "messaging",
    "value",
    "field",
    "from",
]
# Objects that use the keys the parsers look for, so the properties reach past the first check.
OBJECTS = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ACCOUNT = AccountConfig(name="acme-x", platform="x", user_id="1", handle="@acme")
INSTAGRAM = AccountConfig(name="acme-ig", platform="instagram", ig_user_id="17841400000000001", page_id="1")


@SETTINGS
@given(
    st.one_of(
        JSON,
        OBJECTS,
        st.dictionaries(
            st.sampled_from(["accounts", "sla", "triage", "checks", "brand"]),
            st.one_of(JSON, st.lists(OBJECTS, max_size=2), OBJECTS),
            max_size=3,
        ),
    )
)
def test_any_config_is_either_accepted_or_refused_with_the_setting_it_names(data):
    try:
        parse_config(data)
    except ConfigError as error:
        assert str(error)


@SETTINGS
@given(st.text(max_size=200))
def test_any_yaml_text_is_read_or_refused_as_a_config_error(tmp_path_factory, text):
    from bot.config import load_config

    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as error:
        assert str(error)
    except yaml.YAMLError as error:  # pragma: no cover - load_config must turn these into ConfigError
        raise AssertionError(f"raw YAML error escaped: {error}") from None


@SETTINGS
@given(st.one_of(st.text(max_size=100), JSON.map(json.dumps), OBJECTS.map(json.dumps)))
def test_any_triage_line_is_a_triage_input_or_a_value_error_that_says_why(line):
    try:
        item = parse_input_line(line)
    except ValueError as error:
        assert str(error)
    else:
        assert isinstance(item.id, str) and isinstance(item.text, str)


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=60), OBJECTS.map(json.dumps)), max_size=5))
def test_any_training_file_loads_or_names_its_bad_line(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("train") / "train.jsonl"
    path.write_text("\n".join(line.replace("\n", " ") for line in lines), encoding="utf-8")
    try:
        examples = load_training_file(path, "sentiment", ["negative", "neutral", "positive"])
    except TrainingDataError as error:
        assert "train.jsonl" in str(error)
    else:
        assert all(e.label in ("negative", "neutral", "positive") for e in examples)


@SETTINGS
@given(st.one_of(JSON, OBJECTS))
def test_any_replay_line_is_a_mention_or_a_malformed_line(data):
    try:
        mention = parse_line(data, "replay", datetime(2026, 12, 1, 12, 0))
    except MalformedLine as error:
        assert str(error)
    else:
        assert mention.text.strip() and mention.platform_id


@SETTINGS
@given(JSON)
def test_any_timestamp_is_read_or_refused_as_a_malformed_item(value):
    try:
        assert isinstance(parse_time(value), datetime)
    except MalformedItem as error:
        assert str(error)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["for_user_id", "tweet_create_events", "direct_message_events", "users"]),
        st.one_of(JSON, st.lists(OBJECTS, max_size=3)),
        max_size=4,
    )
)
def test_any_x_webhook_event_gives_mentions_and_skips_what_is_malformed(payload):
    assert all(m.platform == "x" for m in activity_mentions(payload, ACCOUNT))


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["id", "changes", "messaging", "time"]),
        st.one_of(JSON, st.lists(OBJECTS, max_size=3)),
        max_size=4,
    )
)
def test_any_meta_and_instagram_webhook_entry_gives_mentions_and_skips_what_is_malformed(entry):
    assert all(m.platform == "facebook" for m in entry_mentions(entry, "100"))
    assert all(m.platform == "instagram" for m in instagram_entry_mentions(entry, INSTAGRAM))


CLIENT = None


def webhook_client() -> TestClient:
    global CLIENT
    if CLIENT is None:
        config = parse_config({"accounts": [ACCOUNT.model_dump(), INSTAGRAM.model_dump()]})
        app = FastAPI()
        app.include_router(build_webhook_router(config, lambda account, mentions: len(mentions), environ={}))
        CLIENT = TestClient(app)
    return CLIENT


@SETTINGS
@given(st.sampled_from(["x", "meta", "instagram"]), st.binary(max_size=200), st.text(max_size=40))
def test_any_webhook_body_is_refused_with_a_4xx_never_a_500(path, body, signature):
    response = webhook_client().post(
        f"/webhooks/{path}",
        content=body,
        headers={
            "X-Hub-Signature-256": signature.encode("ascii", "ignore").decode(),
            "x-twitter-webhooks-signature": signature.encode("ascii", "ignore").decode(),
        },
    )
    assert 400 <= response.status_code < 500
