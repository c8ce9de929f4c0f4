"""Labelled examples recorded from what people do, for the classifier to learn from."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import Draft, LabelledExample, Mention


def record_example(session: Session, head: str, label: str, text: str, source: str, now: datetime,
                   mention: Mention | None = None, actor: str | None = None, language: str | None = None) -> LabelledExample:
    """Store one labelled example."""
    example = LabelledExample(head=head, label=label, text=text, source=source, created_at=now, actor=actor,
                              mention_id=mention.id if mention else None, language=language)
    session.add(example)
    return example


def record_decision(session: Session, draft: Draft, action: str, actor: str, now: datetime) -> None:
    """Turn an approve, edit or reject of a draft into labelled examples of the mention it answers."""
    mention = draft.mention
    if mention is None or mention.triage is None:
        return
    triage = mention.triage
    language = triage.language
    if action in ("approve", "edit"):
        for head, label in (("category", triage.category), ("level", triage.level), ("sentiment", triage.sentiment),
                            ("needs_response", "true"), ("mode", triage.mode)):
            record_example(session, head, label, mention.text, action, now, mention, actor, language)
    elif action == "reject":
        record_example(session, "needs_response", "false", mention.text, action, now, mention, actor, language)


def record_correction(session: Session, mention: Mention, head: str, label: str, actor: str, now: datetime) -> None:
    """A person corrected one triage field by hand."""
    language = mention.triage.language if mention.triage else None
    record_example(session, head, label, mention.text, "correction", now, mention, actor, language)
