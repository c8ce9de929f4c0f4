"""Presence: who else has a case or a draft open in the console right now, and whether they are typing in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.storage.models import Draft, Presence, User

OBJECT_TYPES = ("case", "draft")


@dataclass(frozen=True)
class Present:
    """Another person on an object: their name, whether they are editing, and where (this draft, the case…)."""

    user_id: int
    name: str
    editing: bool
    seen_at: datetime
    where: str

    def describe(self) -> str:
        """What the page shows: 'maria is editing this draft'."""
        return f"{self.name} is {'editing' if self.editing else 'viewing'} {self.where}"

    def as_dict(self) -> dict[str, object]:
        """The JSON the console's script reads."""
        return {
            "name": self.name,
            "editing": self.editing,
            "where": self.where,
            "seen_at": self.seen_at.isoformat(),
            "text": self.describe(),
        }


def check_object(object_type: str, object_id: int) -> None:
    """Refuse anything but a case or a draft id (UserError)."""
    if object_type not in OBJECT_TYPES:
        raise UserError(f"presence is kept for a case or a draft, not {object_type!r}")
    if object_id <= 0:
        raise UserError(f"there is no {object_type} {object_id}")


def beat(session: Session, user_id: int, object_type: str, object_id: int, editing: bool, now: datetime) -> None:
    """Note that a user has an object open now (editing it or not): one row per user and object, kept fresh."""
    check_object(object_type, object_id)
    where = (Presence.user_id == user_id, Presence.object_type == object_type, Presence.object_id == object_id)
    refresh = update(Presence).where(*where).values(editing=editing, seen_at=now)
    refreshed = cast(CursorResult, session.execute(refresh))  # an UPDATE answers with a cursor and its row count
    if refreshed.rowcount:
        return
    try:
        with session.begin_nested():
            session.add(
                Presence(user_id=user_id, object_type=object_type, object_id=object_id, editing=editing, seen_at=now)
            )
    except IntegrityError:
        # The same person's other tab wrote the row between our update and our insert: refresh that one.
        session.execute(refresh)


def leave(session: Session, user_id: int, object_type: str, object_id: int) -> None:
    """A user closed the object (left the page): others stop seeing them at once."""
    check_object(object_type, object_id)
    session.execute(
        delete(Presence).where(
            Presence.user_id == user_id, Presence.object_type == object_type, Presence.object_id == object_id
        )
    )


def forget_old(session: Session, now: datetime, keep_seconds: float) -> None:
    """Drop rows nobody refreshed for a while (closed tabs that never said goodbye)."""
    session.execute(delete(Presence).where(Presence.seen_at < now - timedelta(seconds=keep_seconds)))


def _rows(
    session: Session, wanted: list[tuple[str, int]], user_id: int, since: datetime
) -> list[tuple[Presence, User]]:
    if not wanted:
        return []
    by_type: dict[str, set[int]] = {}
    for object_type, object_id in wanted:
        by_type.setdefault(object_type, set()).add(object_id)
    objects = or_(*(and_(Presence.object_type == t, Presence.object_id.in_(sorted(ids))) for t, ids in by_type.items()))
    return list(
        session.execute(
            select(Presence, User)
            .join(User, User.id == Presence.user_id)
            .where(objects, Presence.seen_at >= since, Presence.user_id != user_id, User.active.is_(True))
            .order_by(Presence.seen_at.desc())
        ).all()
    )


def _merge(found: list[Present]) -> list[Present]:
    """One line per person: editing wins over viewing, then the object itself over its neighbours."""
    best: dict[int, Present] = {}
    for p in found:
        held = best.get(p.user_id)
        if held is None or (p.editing and not held.editing):
            best[p.user_id] = p
    return sorted(best.values(), key=lambda p: (not p.editing, p.name))


def around_draft(session: Session, draft: Draft, user_id: int, now: datetime, window: float) -> list[Present]:
    """Who else, seen within `window` seconds, has this draft open or is on its case's page."""
    since = now - timedelta(seconds=window)
    found = []
    for row, user in _rows(session, [("draft", draft.id), ("case", draft.case_id)], user_id, since):
        where = "this draft" if row.object_type == "draft" else f"case {draft.case_id}"
        found.append(Present(user.id, user.display_name or user.username, row.editing, row.seen_at, where))
    return _merge(found)


def around_case(session: Session, case_id: int, user_id: int, now: datetime, window: float) -> list[Present]:
    """Who else, seen within `window` seconds, has this case open or one of its drafts."""
    since = now - timedelta(seconds=window)
    draft_ids = list(session.scalars(select(Draft.id).where(Draft.case_id == case_id)))
    wanted = [("case", case_id)] + [("draft", i) for i in draft_ids]
    found = []
    for row, user in _rows(session, wanted, user_id, since):
        where = "this case" if row.object_type == "case" else f"draft #{row.object_id}"
        found.append(Present(user.id, user.display_name or user.username, row.editing, row.seen_at, where))
    return _merge(found)


def on_drafts(
    session: Session, draft_ids: list[int], user_id: int, now: datetime, window: float
) -> dict[int, list[Present]]:
    """For a page of the queue: who else has each draft open, by draft id (drafts nobody has open are left out)."""
    since = now - timedelta(seconds=window)
    found: dict[int, list[Present]] = {}
    for row, user in _rows(session, [("draft", i) for i in draft_ids], user_id, since):
        found.setdefault(row.object_id, []).append(
            Present(user.id, user.display_name or user.username, row.editing, row.seen_at, "this draft")
        )
    return {draft_id: _merge(people) for draft_id, people in found.items()}
