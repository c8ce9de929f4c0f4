"""Free tags on cases: added by a person, a macro or a rule; each change is audited."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import Case, CaseTag

MAX_TAG_LENGTH = 50
_TAG = re.compile(r"^[\w][\w\-:./ ]*$")


def normalise(tag: str) -> str:
    """The stored form of a tag (trimmed, lower case, inner spaces collapsed), or a UserError naming what is wrong."""
    cleaned = " ".join(str(tag or "").split()).lower()
    if not cleaned:
        raise UserError("a tag cannot be empty")
    if len(cleaned) > MAX_TAG_LENGTH:
        raise UserError(f"the tag {cleaned[:20]!r}… is longer than {MAX_TAG_LENGTH} characters")
    if not _TAG.match(cleaned):
        raise UserError(f"the tag {cleaned!r} may hold only letters, digits, spaces and - _ : . /")
    return cleaned


def tags_of(session: Session, case_id: int) -> list[str]:
    """A case's tags, in alphabetical order."""
    return list(session.scalars(select(CaseTag.tag).where(CaseTag.case_id == case_id).order_by(CaseTag.tag)))


def add_tag(session: Session, case: Case, tag: str, actor: str, now: datetime) -> bool:
    """Tag a case; False when it already had the tag (nothing changes)."""
    tag = normalise(tag)
    if session.get(CaseTag, (case.id, tag)) is not None:
        return False
    session.add(CaseTag(case_id=case.id, tag=tag, added_by=actor, added_at=now))
    session.flush()
    audit.record(session, now, actor, "tag", "case", case.id, tag=tag)
    return True


def remove_tag(session: Session, case: Case, tag: str, actor: str, now: datetime) -> bool:
    """Take a tag off a case; False when it did not have it."""
    row = session.get(CaseTag, (case.id, normalise(tag)))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit.record(session, now, actor, "untag", "case", case.id, tag=row.tag)
    return True
