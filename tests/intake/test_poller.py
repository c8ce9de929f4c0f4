"""The poller: one mechanism for every listener's errors: backoff, rate-limit waits, re-authorisation."""

from __future__ import annotations

from sqlalchemy import select

from bot.errors import AuthError, TransientError
from bot.intake.accounts import get_account
from bot.intake.poller import Poller
from bot.storage.models import Notification


class Flaky:
    """A listener that fails the way it is told to, then works."""

    platform = "replay"

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = 0

    def fetch(self, cursor):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return [], {"line": 1}


def poller_for(desk, listener):
    account = desk.config.accounts[0]
    return Poller(desk.service.factory, desk.config, account, listener, desk.clock, lambda _a: "token-v1")


def account(desk):
    with desk.session() as session:
        return get_account(session, "brand")


def test_a_rate_limit_waits_for_the_reset_then_resumes(desk):
    listener = Flaky(TransientError("429 too many requests", retry_after=120))
    poller = poller_for(desk, listener)

    assert poller.poll().error == "429 too many requests"
    assert account(desk).health == "rate_limited"
    desk.clock.advance(seconds=60)
    assert poller.poll().skipped.startswith("rate-limited until")
    assert listener.calls == 1
    desk.clock.advance(seconds=61)
    assert poller.poll().error is None
    assert account(desk).health == "ok" and account(desk).cursor == {"line": 1}


def test_transient_errors_back_off_longer_each_time(desk):
    listener = Flaky(TransientError("502"), TransientError("502"), TransientError("502"))
    poller = poller_for(desk, listener)
    waits = []
    for _ in range(3):
        poller.poll()
        row = account(desk)
        waits.append((row.next_poll_at - desk.clock.now()).total_seconds())
        desk.clock.set(row.next_poll_at)
    assert waits[0] < waits[1] < waits[2]
    assert account(desk).health == "backing_off"


def test_repeated_auth_failures_stop_polling_until_the_token_changes(desk):
    listener = Flaky(*[AuthError("401 Unauthorized")] * 3)
    token = {"value": "token-v1"}
    poller = Poller(
        desk.service.factory, desk.config, desk.config.accounts[0], listener, desk.clock, lambda _a: token["value"]
    )
    for _ in range(3):
        poller.poll()
    assert account(desk).health == "needs_reauth"

    assert poller.poll().skipped == "needs re-authorisation"
    assert listener.calls == 3

    token["value"] = "token-v2"
    assert poller.poll().error is None
    assert account(desk).health == "ok"


def test_an_account_needing_re_authorisation_raises_one_notification(desk):
    listener = Flaky(*[AuthError("401 Unauthorized")] * 5)
    poller = poller_for(desk, listener)
    for _ in range(5):
        poller.poll()
        desk.clock.advance(minutes=1)
    with desk.session() as session:
        [notification] = session.scalars(select(Notification))
    assert (notification.event, notification.subject) == ("account_reauth", "Account brand needs re-authorisation")
    assert "refused its credentials 3 time(s) in a row (401 Unauthorized)" in notification.body


class NearTheLimit(Flaky):
    """A listener whose platform says the rate-limit window is nearly spent."""

    def suggested_interval(self):
        return 900.0


def test_near_the_rate_limit_the_poller_slows_down_before_hitting_it(desk):
    listener = NearTheLimit()
    poller = poller_for(desk, listener)

    assert poller.poll().error is None
    desk.clock.advance(seconds=60)
    assert poller.poll().skipped.startswith("waiting until")
    assert listener.calls == 1
    assert "near the rate limit" in account(desk).health_detail
    desk.clock.advance(seconds=841)
    assert poller.poll().skipped is None
    assert listener.calls == 2
