"""The evaluation form: approvers score sent replies against the rubric; scores per agent and per template."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import Draft, ReplyScore
from bot.storage.statuses import DraftStatus


def rubric(config: Config) -> list[dict[str, Any]]:
    """The criteria of the form, for the console and the CLI."""
    scale = config.evaluation.scale_max
    return [
        {"name": c.name, "question": c.question, "weight": c.weight, "min": 1, "max": scale}
        for c in config.evaluation.rubric
    ]


def parse_scores(pairs: list[str]) -> dict[str, int]:
    """'empathy=4' pairs from the command line as a mapping."""
    scores: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"{pair!r}: write each score as criterion=number, e.g. empathy=4")
        try:
            scores[name.strip()] = int(value)
        except ValueError:
            raise UserError(f"{pair!r}: the score must be a whole number") from None
    return scores


def total(config: Config, scores: dict[str, int]) -> float:
    """The weighted score on 0-100, where 1 on every criterion is 0 and the top of the scale everywhere is 100."""
    top = config.evaluation.scale_max
    weights = {c.name: c.weight for c in config.evaluation.rubric}
    weighted = sum(weights[name] * (value - 1) / (top - 1) for name, value in scores.items())
    return round(100 * weighted / sum(weights.values()), 1)


def score(
    session: Session,
    config: Config,
    draft_id: int,
    scorer: str,
    scores: dict[str, int],
    now: datetime,
    comment: str | None = None,
) -> ReplyScore:
    """Record (or replace) one person's scores for a sent reply; every criterion of the rubric must be scored."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise UserError(f"there is no draft {draft_id}")
    if draft.status != DraftStatus.SENT:
        raise UserError(f"draft {draft_id} is {draft.status}: only sent replies are scored")
    names = [c.name for c in config.evaluation.rubric]
    unknown = sorted(set(scores) - set(names))
    if unknown:
        raise UserError(f"not in the rubric: {', '.join(unknown)} (the criteria are {', '.join(names)})")
    missing = [n for n in names if n not in scores]
    if missing:
        raise UserError(f"score every criterion; missing: {', '.join(missing)}")
    top = config.evaluation.scale_max
    for name, value in scores.items():
        if not 1 <= value <= top:
            raise UserError(f"{name}={value}: scores go from 1 to {top}")
    row = session.scalar(select(ReplyScore).where(ReplyScore.draft_id == draft_id, ReplyScore.scorer == scorer))
    if row is None:
        row = ReplyScore(draft_id=draft_id, scorer=scorer)
        session.add(row)
    row.agent = draft.decided_by
    row.template = draft.template
    row.scores = {n: scores[n] for n in names}
    row.total = total(config, scores)
    row.comment = comment.strip() if comment and comment.strip() else None
    row.created_at = now
    session.flush()
    audit.record(session, now, scorer, "score", "draft", draft_id, total=row.total, scores=row.scores)
    return row


def _summarise(rows: list[ReplyScore], key: str, names: list[str]) -> list[dict[str, Any]]:
    groups: dict[str, list[ReplyScore]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key) or "(unknown)"].append(row)
    summary: list[dict[str, Any]] = []
    for name, group in groups.items():
        criteria = {n: round(sum(r.scores.get(n, 0) for r in group) / len(group), 2) for n in names}
        summary.append(
            {
                key: name,
                "scores": len(group),
                "replies": len({r.draft_id for r in group}),
                "mean_total": round(sum(r.total for r in group) / len(group), 1),
                "criteria": criteria,
            }
        )
    summary.sort(key=lambda s: (-s["mean_total"], s[key]))
    return summary


def _rows(session: Session, since: datetime | None, until: datetime | None) -> list[ReplyScore]:
    query = select(ReplyScore)
    if since is not None:
        query = query.where(ReplyScore.created_at >= since)
    if until is not None:
        query = query.where(ReplyScore.created_at < until)
    return list(session.scalars(query))


def by_agent(
    session: Session, config: Config, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Mean scores per agent (the person who approved the reply), best first."""
    return _summarise(_rows(session, since, until), "agent", [c.name for c in config.evaluation.rubric])


def by_template(
    session: Session, config: Config, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Mean scores per reply template, best first: which wording to improve."""
    return _summarise(_rows(session, since, until), "template", [c.name for c in config.evaluation.rubric])


def unscored(session: Session, scorer: str | None = None, limit: int = 50) -> list[Draft]:
    """Sent replies nobody (or not this scorer) has scored yet, newest first: the form's to-do list."""
    scored = select(ReplyScore.draft_id)
    if scorer is not None:
        scored = scored.where(ReplyScore.scorer == scorer)
    return list(
        session.scalars(
            select(Draft)
            .where(Draft.status == DraftStatus.SENT, Draft.id.not_in(scored))
            .order_by(Draft.decided_at.desc(), Draft.id.desc())
            .limit(limit)
        )
    )
