"""Internal notes on a case: for the team only, never sent; an @mention of a user lands in that user's inbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.errors import UserError
from bot.notifications.events import notify
from bot.storage import audit
from bot.storage.models import Case, CaseNote, NoteMention, User

MAX_NOTE_LENGTH = 5000
NOTIFICATION_BODY_LENGTH = 500
# @name where a user name may be (letters, digits, - _ .), not inside a word or an e-mail address (ana@acme.com).
_AT_NAME = re.compile(r"(?<![\w.@])@([\w][\w.\-]*)")


@dataclass
class InboxItem:
    """One @mention of a user: the note, the case it is on, and whether the user has read it."""

    mention: NoteMention
    note: CaseNote
    case: Case

    @property
    def unread(self) -> bool:
        """True until the mentioned user marks it read."""
        return self.mention.read_at is None


def mentioned_names(text: str) -> list[str]:
    """The @names written in a note, lower case, once each, in the order written (trailing dots dropped)."""
    names: list[str] = []
    for match in _AT_NAME.finditer(text or ""):
        name = match.group(1).rstrip(".-").lower()
        if name and name not in names:
            names.append(name)
    return names


def mentioned_users(session: Session, text: str) -> list[User]:
    """The active users a note's @names point at; other @names (a customer's handle like @acme) stay plain text."""
    names = mentioned_names(text)
    if not names:
        return []
    found = {
        u.username.lower(): u
        for u in session.scalars(select(User).where(func.lower(User.username).in_(names), User.active.is_(True)))
    }
    return [found[name] for name in names if name in found]


def check_text(text: str) -> str:
    """The note's text, trimmed, or a UserError when it is empty or too long."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise UserError("a note cannot be empty")
    if "\x00" in cleaned:
        raise UserError("a note cannot contain a NUL character")
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise UserError(f"a note may have at most {MAX_NOTE_LENGTH:,} characters (this one has {len(cleaned):,})")
    return cleaned


def add_note(session: Session, case: Case, author_user: User, text: str, now: datetime) -> CaseNote:
    """Leave an internal note on a case; each active user it @mentions (but the author) is notified once."""
    text = check_text(text)
    note = CaseNote(case_id=case.id, author_id=author_user.id, author=author_user.username, text=text, created_at=now)
    session.add(note)
    session.flush()
    mentioned = [u for u in mentioned_users(session, text) if u.id != author_user.id]
    for user in mentioned:
        row = NoteMention(note=note, user=user)
        session.add(row)
        session.flush()
        notify(
            session,
            now,
            "note_mention",
            key=f"note-mention:{row.id}",
            subject=f"{author_user.username} mentioned you in a note on case {case.id}",
            body=_excerpt(text),
            recipient=user.username,
            case_id=case.id,
            note_id=note.id,
        )
    audit.record(
        session,
        now,
        author_user.username,
        "note",
        "case",
        case.id,
        note_id=note.id,
        mentioned=[u.username for u in mentioned],
    )
    return note


def notes_of(session: Session, case_id: int) -> list[CaseNote]:
    """A case's internal notes, oldest first, with whom each one mentions."""
    return list(
        session.scalars(
            select(CaseNote)
            .where(CaseNote.case_id == case_id)
            .order_by(CaseNote.created_at, CaseNote.id)
            .options(selectinload(CaseNote.mentioned).joinedload(NoteMention.user))
        )
    )


def inbox(session: Session, user: User, limit: int = 100) -> list[InboxItem]:
    """A user's @mentions: unread ones first, then newest first, each with its note and case."""
    rows = session.execute(
        select(NoteMention, CaseNote, Case)
        .join(CaseNote, NoteMention.note_id == CaseNote.id)
        .join(Case, CaseNote.case_id == Case.id)
        .where(NoteMention.user_id == user.id)
        .order_by(NoteMention.read_at.is_not(None), CaseNote.created_at.desc(), NoteMention.id.desc())
        .limit(limit)
    )
    return [InboxItem(mention, note, case) for mention, note, case in rows]


def unread_count(session: Session, user_id: int) -> int:
    """How many @mentions a user has not read yet."""
    return (
        session.scalar(
            select(func.count(NoteMention.id)).where(NoteMention.user_id == user_id, NoteMention.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user: User, mention_id: int, now: datetime) -> InboxItem:
    """Mark one of the user's own @mentions read (reading it again changes nothing); another's is not found."""
    row = session.get(NoteMention, mention_id)
    if row is None or row.user_id != user.id:
        raise UserError(f"there is no inbox item {mention_id}")
    if row.read_at is None:
        row.read_at = now
        session.flush()
        audit.record(session, now, user.username, "note_read", "note_mention", row.id, note_id=row.note_id)
    note = row.note
    return InboxItem(row, note, session.get_one(Case, note.case_id))  # a note's case is kept


def read_case(session: Session, user: User, case_id: int, now: datetime) -> int:
    """Mark read the user's @mentions in a case's notes, as they open it; returns how many were unread."""
    rows = list(
        session.scalars(
            select(NoteMention)
            .join(CaseNote, CaseNote.id == NoteMention.note_id)
            .where(NoteMention.user_id == user.id, NoteMention.read_at.is_(None), CaseNote.case_id == case_id)
        )
    )
    for row in rows:
        row.read_at = now
        audit.record(session, now, user.username, "note_read", "note_mention", row.id, note_id=row.note_id)
    session.flush()
    return len(rows)


def _excerpt(text: str) -> str:
    """The start of a note, for a notification that goes beyond the console."""
    if len(text) <= NOTIFICATION_BODY_LENGTH:
        return text
    return text[: NOTIFICATION_BODY_LENGTH - 1].rstrip() + "…"
