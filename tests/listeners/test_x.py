"""The X listener against the X simulator, through the real tweepy client."""

from __future__ import annotations

import logging

import pytest

from bot.clock import FrozenClock
from bot.config import BrandConfig
from bot.errors import AuthError, TransientError
from bot.simulators import x_account
from bot.storage.models import Account, Mention
from listeners.x import XListener
from tests.harness import Desk


# The simulator answers in milliseconds; the generous timeout keeps a loaded CI machine from failing a normal call.
# Tests about timeouts pass a short one and make the simulator answer later than that.
def listener(sim, timeout: float = 5.0, **overrides) -> XListener:
    return XListener(x_account(sim, **overrides), BrandConfig(handles=["@acme"]), timeout=timeout)


def test_a_mention_arrives_once_across_repeated_polls_and_a_restart(x_sim):
    x_sim.post("maria_g", "@acme my order #4411 never arrived")
    first = listener(x_sim, listen=["mentions"])
    mentions, cursor = first.fetch({})
    assert [m.text for m in mentions] == ["@acme my order #4411 never arrived"]
    mention = mentions[0]
    assert (mention.platform, mention.author_handle, mention.channel, mention.stream) == (
        "x",
        "@maria_g",
        "public",
        "mentions",
    )
    assert mention.addressed_to_brand and mention.thread_key == mention.platform_id
    assert mention.url == f"https://x.com/maria_g/status/{mention.platform_id}"

    again, cursor = first.fetch(cursor)
    assert again == []
    restarted = listener(x_sim, listen=["mentions"])  # a new process reads the stored cursor
    after_restart, cursor = restarted.fetch(cursor)
    assert after_restart == []
    x_sim.post("maria_g", "@acme hello? still waiting")
    new, _ = restarted.fetch(cursor)
    assert [m.text for m in new] == ["@acme hello? still waiting"]
    assert x_sim.calls("GET", "/mentions")[-1].query["since_id"] == mention.platform_id


def test_a_reply_carries_its_thread_and_the_author_reach(x_sim):
    x_sim.add_user("techdan", "Dan Okafor", followers=15800)
    root = x_sim.post("techdan", "@acme does the app export CSV?")
    cursor = listener(x_sim, listen=["mentions"]).fetch({})[1]
    x_sim.post("acme", "@techdan Yes: Settings > Export.", in_reply_to=root)
    x_sim.post("techdan", "@acme where exactly? I don't see it", in_reply_to=root)
    mentions, _ = listener(x_sim, listen=["mentions"]).fetch(cursor)
    assert len(mentions) == 1  # our own reply is not a mention
    follow_up = mentions[0]
    assert follow_up.thread_key == root and follow_up.in_reply_to_id is not None
    assert follow_up.author_followers == 15800 and follow_up.author_name == "Dan Okafor"


def test_search_finds_posts_that_talk_about_the_brand_without_addressing_it(x_sim):
    x_sim.post("lu_sanchez", "Me encanta la nueva app de Acme", lang="es")
    x_sim.post("techdan", "Is @acme down for anyone else?")
    x_sim.post("someone", "nothing to see here")
    mentions, cursor = listener(x_sim, listen=["search"], search_queries=["acme"]).fetch({})
    by_text = {m.text: m for m in mentions}
    assert set(by_text) == {"Me encanta la nueva app de Acme", "Is @acme down for anyone else?"}
    assert by_text["Me encanta la nueva app de Acme"].addressed_to_brand is False
    assert by_text["Me encanta la nueva app de Acme"].lang == "es"
    assert by_text["Is @acme down for anyone else?"].addressed_to_brand is True
    assert set(cursor) == {"search:acme"}


def test_direct_messages_are_private_and_skip_what_we_sent(x_sim):
    x_sim.direct_message("maria_g", "I was charged twice for #4411")
    mentions, cursor = listener(x_sim, listen=["direct_messages"]).fetch({})
    assert [(m.text, m.channel, m.stream, m.addressed_to_brand) for m in mentions] == [
        ("I was charged twice for #4411", "private", "direct_messages", True)
    ]
    assert (
        mentions[0].thread_key == f"{x_sim.user_id('maria_g')}-{x_sim.brand_user_id}"
        or mentions[0].thread_key == f"{x_sim.brand_user_id}-{x_sim.user_id('maria_g')}"
    )
    x_sim.direct_message("maria_g", "order number is 4411")
    assert [m.text for m in listener(x_sim, listen=["direct_messages"]).fetch(cursor)[0]] == ["order number is 4411"]


def test_a_busy_poll_drains_the_backlog_over_the_next_polls_without_gaps(x_sim, monkeypatch):
    monkeypatch.setattr("listeners.x.PAGE_SIZE", 5)
    monkeypatch.setattr("listeners.x.MAX_PAGES", 2)
    x_sim.post("fan0", "@acme first")
    reader = listener(x_sim, listen=["mentions"])
    _, cursor = reader.fetch({})
    for n in range(23):
        x_sim.post(f"fan{n % 4}", f"@acme message {n}")
    seen: list[str] = []
    for _ in range(4):
        mentions, cursor = reader.fetch(cursor)
        seen.extend(m.text for m in mentions)
    assert sorted(seen) == sorted(f"@acme message {n}" for n in range(23))
    assert len(seen) == len(set(seen))
    assert set(cursor["mentions"]) == {"since_id"}


def test_a_429_raises_transient_error_with_the_time_to_the_reset(x_sim):
    x_sim.inject("rate_limit", path="/mentions", reset_in=120)
    with pytest.raises(TransientError) as caught:
        listener(x_sim, listen=["mentions"]).fetch({})
    assert 110 <= caught.value.retry_after <= 121


def test_the_listener_waits_for_the_reset_once_the_window_is_spent(x_sim):
    x_sim.limits["mentions"] = 2
    reader = listener(x_sim, listen=["mentions"])
    cursor = reader.fetch({})[1]
    cursor = reader.fetch(cursor)[1]
    with pytest.raises(TransientError) as caught:
        reader.fetch(cursor)
    assert caught.value.retry_after > 60
    assert len(x_sim.calls("GET", "/mentions")) == 2  # the third poll never reached the API
    assert reader.rate_limit_status()["mentions"]["remaining"] == 0
    assert reader.suggested_interval() is not None


def test_one_stream_rate_limited_still_delivers_the_others(x_sim):
    x_sim.post("maria_g", "@acme hi")
    x_sim.inject("rate_limit", path="/search/recent", reset_in=300)
    mentions, cursor = listener(x_sim, listen=["mentions", "search"], search_queries=["acme"]).fetch({})
    assert [m.stream for m in mentions] == ["mentions"]
    assert "search:acme" not in cursor  # retried next poll, from where it was


def test_a_revoked_token_raises_auth_error(x_sim):
    reader = listener(x_sim, listen=["mentions"])
    reader.fetch({})
    x_sim.revoke()
    with pytest.raises(AuthError):
        reader.fetch({})


def test_a_missing_secret_is_an_auth_error_that_names_the_variable_not_the_value(x_sim, monkeypatch):
    monkeypatch.delenv("SIM_X_BEARER_TOKEN")
    monkeypatch.delenv("SIM_X_ACCESS_TOKEN")
    with pytest.raises(AuthError) as caught:
        listener(x_sim, listen=["mentions"]).fetch({})
    assert "sim-" not in str(caught.value)


def test_server_errors_timeouts_and_malformed_json_are_transient(x_sim):
    reader = listener(x_sim, timeout=0.5, listen=["mentions"])
    x_sim.inject("server_error", path="/mentions", status=503)
    with pytest.raises(TransientError):
        reader.fetch({})
    x_sim.inject("malformed_json", path="/mentions")
    with pytest.raises(TransientError):
        reader.fetch({})
    x_sim.inject("timeout", path="/mentions", delay=1.5)
    with pytest.raises(TransientError):
        reader.fetch({})


def test_a_malformed_item_is_logged_and_skipped_without_losing_the_rest_of_the_page(x_sim, caplog):
    for n in range(3):
        x_sim.post("maria_g", f"@acme message {n}")
    x_sim.inject("malformed_item", path="/mentions")
    with caplog.at_level(logging.WARNING, logger="listeners.x"):
        mentions, cursor = listener(x_sim, listen=["mentions"]).fetch({})
    assert sorted(m.text for m in mentions) == ["@acme message 0", "@acme message 1"]
    assert "skipping malformed mentions item" in caplog.text
    assert "sim-bearer" not in caplog.text
    assert cursor["mentions"]["since_id"]  # the page was handled: the next poll starts after it


def test_a_revoked_token_marks_the_account_stops_polling_and_resumes_when_the_token_changes(
    tmp_path, database_url, x_sim, monkeypatch
):
    desk = Desk(
        tmp_path,
        database_url,
        clock=FrozenClock(x_sim.clock()),
        accounts=[x_account(x_sim, poll_interval_seconds=1, listen=["mentions"]).model_dump()],
    )
    x_sim.revoke()
    for _ in range(3):
        desk.poll()
        desk.clock.advance(seconds=2)
    with desk.session() as session:
        account = session.query(Account).one()
        assert account.health == "needs_reauth"
    calls = len(x_sim.calls("GET", "/mentions"))
    desk.poll()
    assert len(x_sim.calls("GET", "/mentions")) == calls  # polling stopped

    x_sim.bearer_tokens.add("a-fresh-token")  # a person re-authorises the app...
    monkeypatch.setenv("SIM_X_BEARER_TOKEN", "a-fresh-token")  # ...and puts the new token in the environment
    x_sim.post("maria_g", "@acme are you there?")
    desk.clock.advance(seconds=2)
    desk.poll()
    with desk.session() as session:
        assert session.query(Account).one().health == "ok"
    assert desk.count(Mention) == 1
    desk.service.engine.dispose()


def test_a_429_makes_the_account_wait_for_the_reset_and_then_resume(tmp_path, database_url, x_sim):
    desk = Desk(
        tmp_path,
        database_url,
        clock=FrozenClock(x_sim.clock()),
        accounts=[x_account(x_sim, poll_interval_seconds=1, listen=["mentions"]).model_dump()],
    )
    x_sim.post("maria_g", "@acme hello?")
    x_sim.inject("rate_limit", path="/mentions", reset_in=120)
    desk.poll()
    with desk.session() as session:
        account = session.query(Account).one()
        assert account.health == "rate_limited"
        # X's reset is a whole second of the real clock at the request; the desk's clock froze a moment before
        assert 110 <= (account.rate_limited_until - desk.clock.now()).total_seconds() <= 126
    desk.clock.advance(seconds=60)
    desk.poll()
    assert len(x_sim.calls("GET", "/mentions")) == 1  # still waiting: no call
    desk.clock.advance(seconds=66)
    desk.poll()
    assert desk.count(Mention) == 1
    desk.service.engine.dispose()


def test_debug_logging_never_shows_a_token(x_sim, caplog):
    x_sim.post("maria_g", "@acme hi")
    with caplog.at_level(logging.DEBUG):
        listener(x_sim).fetch({})
    assert "sim-bearer" not in caplog.text and "sim-access" not in caplog.text


def test_the_authors_verified_badge_comes_with_the_mention(x_sim):
    badge = x_sim.user_id("press_desk")
    x_sim.users[badge]["verified"] = True
    x_sim.post("press_desk", "@acme are you affected by the outage?")
    x_sim.post("maria_g", "@acme my order never arrived")
    mentions, _ = listener(x_sim, listen=["mentions"]).fetch({})
    assert {m.author_handle: m.author_verified for m in mentions} == {"@press_desk": True, "@maria_g": False}
    assert "verified" in x_sim.calls("GET", "/mentions")[-1].query["user.fields"]
