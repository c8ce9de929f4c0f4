"""The outbox: each approved reply is posted once, retried on transient errors, reconciled when in doubt."""

from __future__ import annotations

from sqlalchemy import select

from bot.errors import PermanentError, TransientError, UnknownOutcome
from bot.storage.models import OutboxMessage


class Platform:
    """A responder that fails as scripted and records what it really posted."""

    def __init__(self, *script):
        self.script = list(script)
        self.posted: list[str] = []
        self.lookups = 0

    def _post(self, message):
        if self.script:
            step = self.script.pop(0)
            if step == "post-then-timeout":
                self.posted.append(message.idempotency_key)
                raise UnknownOutcome("read timed out")
            raise step
        self.posted.append(message.idempotency_key)
        return f"post-{len(self.posted)}"

    reply_public = send_private = close_public = _post

    def find_sent(self, message):
        self.lookups += 1
        return "post-found" if message.idempotency_key in self.posted else None


def approved_ack(desk, platform):
    desk.service._responders["brand"] = platform
    desk.mention("@acme my internet is down, not working", id="o-1")
    desk.poll()
    [draft] = desk.drafts()
    return desk.approve(draft.id)


def message(desk) -> OutboxMessage:
    with desk.session() as session:
        return session.scalar(select(OutboxMessage))


def test_a_transient_error_is_retried_later_and_posted_once(desk):
    platform = Platform(TransientError("503 service unavailable"))
    draft = approved_ack(desk, platform)
    assert draft.status == "approved"
    assert message(desk).status == "queued" and message(desk).attempts == 1

    desk.service.outbox.run()  # not due yet: nothing happens
    assert platform.posted == []
    desk.clock.advance(minutes=10)
    desk.service.outbox.run()
    desk.service.outbox.run()

    assert platform.posted == ["draft-1"]
    assert message(desk).status == "sent" and desk.draft(draft.id).status == "sent"


def test_a_timeout_after_posting_is_reconciled_instead_of_posting_again(desk):
    platform = Platform("post-then-timeout")
    approved_ack(desk, platform)
    assert message(desk).status == "unknown"

    desk.clock.advance(minutes=5)
    desk.service.outbox.run()

    assert platform.posted == ["draft-1"]  # once, not twice
    assert platform.lookups == 1
    assert message(desk).status == "sent" and message(desk).platform_post_id == "post-found"


def test_a_permanent_rejection_fails_the_draft_for_a_person_to_see(desk):
    platform = Platform(PermanentError("the post was deleted"))
    draft = approved_ack(desk, platform)
    assert desk.draft(draft.id).status == "failed"
    assert "deleted" in message(desk).last_error


def test_a_message_gives_up_after_the_configured_attempts(desk):
    desk.config.outbox.max_attempts = 2
    platform = Platform(TransientError("500"), TransientError("500"), TransientError("500"))
    approved_ack(desk, platform)
    desk.clock.advance(hours=1)
    desk.service.outbox.run()
    assert message(desk).status == "failed"
    assert platform.posted == []


def test_approving_twice_is_refused_and_sends_nothing_more(desk):
    platform = Platform()
    draft = approved_ack(desk, platform)
    import pytest

    from bot.errors import UserError

    with pytest.raises(UserError, match="not pending"):
        desk.approve(draft.id)
    desk.service.outbox.run()
    assert platform.posted == ["draft-1"]
