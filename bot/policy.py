"""The platform policy guard in front of every send: what a platform allows an automated account to post."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Account, Case, Draft, Identity, Mention, OutboxMessage

# Meta: a Page may answer a comment with one private message within 7 days, and write on Messenger within
# 24 hours of the person's last message (the standard messaging window).
PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)
# Outbox states in which a message may already be on the platform.
ATTEMPTED = ("sent", "sending", "unknown")


@dataclass
class PolicyVerdict:
    """Whether a draft may be sent automatically, and if not, why and what a person can do by hand."""

    allowed: bool
    reason: str | None = None
    manual_url: str | None = None

    def as_dict(self) -> dict[str, object]:
        """For storage on the draft."""
        return {"allowed": self.allowed, "reason": self.reason, "manual_url": self.manual_url}


def x_intent_url(in_reply_to: str, text: str) -> str:
    """A link that opens X's composer with the reply filled in, for a person to post by hand."""
    return "https://twitter.com/intent/tweet?" + urlencode({"in_reply_to": in_reply_to, "text": text})


def x_dm_url(recipient_id: str, text: str) -> str:
    """A link that opens X's DM composer to this person with the text filled in."""
    return "https://twitter.com/messages/compose?" + urlencode({"recipient_id": recipient_id, "text": text})


def check(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    """The verdict for sending this draft now."""
    account = session.get(Account, case.account_id)
    platform = account.platform if account is not None else case.platform
    if platform == "x":
        return _check_x(session, draft, case, mention)
    if platform == "facebook":
        return _check_facebook(session, draft, case, mention, now)
    return PolicyVerdict(True)  # replay and sandbox-only platforms post nowhere


def _public_target(session: Session, case: Case, mention: Mention | None) -> Mention | None:
    """The post a public reply answers: the draft's mention, or the case's latest public one (as the outbox does)."""
    if mention is not None and mention.channel == "public":
        return mention
    return session.scalar(select(Mention).where(Mention.case_id == case.id, Mention.channel == "public")
                          .order_by(Mention.created_at.desc(), Mention.id.desc()).limit(1))


def _other_attempts(session: Session, draft: Draft, case: Case, target_id: str, actions: tuple[str, ...]) -> int:
    query = (select(OutboxMessage.id).join(Draft, OutboxMessage.draft_id == Draft.id)
             .where(OutboxMessage.target_id == target_id, OutboxMessage.action.in_(actions),
                    OutboxMessage.status.in_(ATTEMPTED), OutboxMessage.draft_id != draft.id,
                    OutboxMessage.account_id == case.account_id))
    return len(list(session.scalars(query)))


def _check_x(session: Session, draft: Draft, case: Case, mention: Mention | None) -> PolicyVerdict:
    if draft.channel == "private":
        person = mention.identity if mention is not None else None
        identities = select(Identity.id).where(Identity.customer_id == case.customer_id, Identity.platform == "x")
        wrote = session.scalar(select(Mention.id).where(Mention.platform == "x", Mention.channel == "private",
                                                        Mention.identity_id.in_(identities)).limit(1))
        if wrote is None:
            return PolicyVerdict(False, "X allows a direct message only after the person wrote to the brand in private; "
                                        "invite them in public, or send it by hand",
                                 x_dm_url(person.platform_user_id, draft.text) if person else None)
        return PolicyVerdict(True)
    target = _public_target(session, case, mention)
    if target is None:
        return PolicyVerdict(False, "no post in this thread to reply to")
    if not target.addressed_to_brand:
        return PolicyVerdict(False, "X allows automated replies only to posts that mention the brand; this post talks "
                                    "about it without addressing it: post the reply by hand if it adds value",
                             x_intent_url(target.platform_id, draft.text))
    if _other_attempts(session, draft, case, target.platform_id, ("reply_public", "close_public")):
        return PolicyVerdict(False, "X allows one automated reply per post and this post already has one: "
                                    "post this one by hand", x_intent_url(target.platform_id, draft.text))
    return PolicyVerdict(True)


def _check_facebook(session: Session, draft: Draft, case: Case, mention: Mention | None, now: datetime) -> PolicyVerdict:
    if draft.channel != "private":
        return PolicyVerdict(True)
    messenger = mention is not None and mention.channel == "private"
    if messenger:
        last = session.scalar(select(Mention.created_at).where(Mention.case_id == case.id, Mention.channel == "private")
                              .order_by(Mention.created_at.desc()).limit(1))
        if last is None or now - last > MESSAGING_WINDOW:
            hours = (now - last).total_seconds() / 3600 if last else None
            since = f" (their last message was {hours:.0f} hours ago)" if hours is not None else ""
            return PolicyVerdict(False, "Messenger allows messages only within 24 hours of the person's last "
                                        f"message{since}; wait for them to write again", None)
        return PolicyVerdict(True)
    comment = _public_target(session, case, mention)
    if comment is None:
        return PolicyVerdict(False, "no comment to answer in private")
    age = now - comment.created_at
    if age > PRIVATE_REPLY_WINDOW:
        return PolicyVerdict(False, f"Meta allows a private reply to a comment only within 7 days; this comment is "
                                    f"{age.days} days old: answer in public or ask them to write on Messenger",
                             comment.url)
    if _other_attempts(session, draft, case, comment.platform_id, ("send_private",)):
        return PolicyVerdict(False, "Meta allows one private reply per comment and this comment already has one; "
                                    "continue on Messenger once they answer", comment.url)
    return PolicyVerdict(True)
