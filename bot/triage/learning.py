"""Labelled examples recorded from what people do, for the classifier to learn from (`python -m bot train`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.storage.models import Draft, LabelledExample, Mention

_TRIAGE_HEADS = ("category", "sentiment", "level", "mode")


def record_example(
    session: Session,
    head: str,
    label: str,
    text: str,
    source: str,
    now: datetime,
    mention: Mention | None = None,
    actor: str | None = None,
    language: str | None = None,
) -> LabelledExample:
    """Store one labelled example."""
    example = LabelledExample(
        head=head,
        label=label,
        text=text,
        source=source,
        created_at=now,
        actor=actor,
        mention_id=mention.id if mention else None,
        language=language,
    )
    session.add(example)
    return example


def record_decision(session: Session, draft: Draft, action: str, actor: str, now: datetime) -> None:
    """Turn an approve, edit or reject of a draft into labelled examples of the mention it answers.

    Approving or editing a reply confirms the triage behind it (an edit changes the words, not the
    decision): every head's label is recorded, with needs_response true. Rejecting says the mention
    should not get this answer at all: needs_response false and level monitor. When a later approval
    of another draft for the same mention disagrees, training keeps the later example.
    """
    mention = draft.mention
    if mention is None or mention.triage is None:
        return
    triage = mention.triage
    language = triage.language
    if action in ("approve", "edit"):
        for head in _TRIAGE_HEADS:
            record_example(session, head, getattr(triage, head), mention.text, action, now, mention, actor, language)
        record_example(session, "needs_response", "true", mention.text, action, now, mention, actor, language)
        for head, label in (triage.labels or {}).items():
            record_example(session, head, str(label), mention.text, action, now, mention, actor, language)
    elif action == "reject":
        record_example(session, "needs_response", "false", mention.text, action, now, mention, actor, language)
        record_example(session, "level", "monitor", mention.text, action, now, mention, actor, language)


def record_correction(session: Session, mention: Mention, head: str, label: str, actor: str, now: datetime) -> None:
    """A person corrected one triage field by hand; what the correction implies for the other heads is recorded too."""
    language = mention.triage.language if mention.triage else None
    label = str(label).lower() if head == "needs_response" else str(label)
    record_example(session, head, label, mention.text, "correction", now, mention, actor, language)
    if head == "level":
        implied = "false" if label == "monitor" else "true"
        record_example(session, "needs_response", implied, mention.text, "correction", now, mention, actor, language)
    elif head == "needs_response" and label == "false":
        record_example(session, "level", "monitor", mention.text, "correction", now, mention, actor, language)
