"""Follow-ups: nudge cases waiting on the customer, re-check monitored threads, leave no message unanswered."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.casework import cases
from bot.casework.drafting import TemplateRenderer, draft_for_mention, make_draft
from bot.casework.pipeline import triage_input
from bot.config import Config
from bot.errors import UserError
from bot.service_levels import assignment
from bot.storage import audit
from bot.storage.db import transaction
from bot.storage.models import Case, CaseEvent, Draft, Mention, TriageResult
from bot.storage.statuses import DraftStatus, MentionStatus
from bot.triage.decision import Triager

log = logging.getLogger(__name__)

# Drafts that answer a message: a person will decide on it, has approved it, or it went out.
ANSWERING = (DraftStatus.PENDING, DraftStatus.APPROVED, DraftStatus.SENT, DraftStatus.BLOCKED)


@dataclass
class FollowupResult:
    """What one follow-up run did."""

    follow_ups: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    rechecked: int = 0
    unanswered: int = 0


def _customer_mentions(case: Case) -> list[Mention]:
    return sorted(case.mentions, key=lambda m: (m.created_at, m.id))


def draft_follow_ups(session: Session, config: Config, renderer: TemplateRenderer, now: datetime) -> list[Draft]:
    """A follow-up draft for each case that has waited on the customer long enough, up to the configured number."""
    settings = config.followups
    if settings.max_follow_ups == 0:
        return []
    every = timedelta(hours=settings.after_hours)
    drafted = []
    waiting = session.scalars(
        select(Case).where(
            Case.state == cases.WAITING_ON_CUSTOMER, Case.waiting_since.is_not(None), Case.waiting_since <= now - every
        )
    )
    for case in waiting:
        since = case.waiting_since
        if since is None:
            continue  # the query asks for waiting cases only: it is set
        follow_ups = [
            d
            for d in case.drafts
            if d.kind == "follow_up" and d.created_at >= since and d.status != DraftStatus.SUPERSEDED
        ]
        if len(follow_ups) >= settings.max_follow_ups or any(
            d.status in (DraftStatus.PENDING, DraftStatus.APPROVED) for d in follow_ups
        ):
            continue
        last = max([since] + [d.created_at for d in follow_ups])
        if now < last + every:
            continue
        mentions = _customer_mentions(case)
        draft = make_draft(session, config, renderer, case, "follow_up", mentions[-1] if mentions else None, now)
        session.add(
            CaseEvent(
                case=case,
                at=now,
                actor="system",
                from_state=case.state,
                to_state=case.state,
                note=f"follow-up {len(follow_ups) + 1} drafted after {settings.after_hours:g} h waiting",
            )
        )
        drafted.append(draft)
    session.flush()
    return drafted


def recheck_monitored(
    session: Session, config: Config, renderer: TemplateRenderer, triager: Triager, now: datetime
) -> tuple[int, list[Case]]:
    """Look again at monitored threads: a new message or a turn for the worse puts them in front of a person."""

    due = now - timedelta(hours=config.followups.recheck_after_hours)
    candidates = list(
        session.scalars(select(Case).where(Case.state == cases.MONITORING, Case.last_customer_message_at <= due))
    )
    escalated: list[Case] = []
    checked = 0
    for case in candidates:
        if case.monitor_checked_at is not None and case.monitor_checked_at >= (
            case.last_customer_message_at or case.opened_at
        ):
            continue
        mentions = [m for m in _customer_mentions(case) if m.triage is not None]
        if not mentions:
            continue
        checked += 1
        latest = mentions[-1]
        first, triage = mentions[0].triage, latest.triage
        if first is None or triage is None:
            continue  # mentions holds triaged ones only: both are set
        fresh = triager.triage([triage_input(latest)], now=now)[0]
        first_sentiment = first.sentiment
        turned = fresh.sentiment == "negative" and first_sentiment != "negative"
        reasons = []
        if fresh.needs_response:
            reasons.append(f"the classifier now says it needs a response ({fresh.level})")
        if turned:
            reasons.append(f"the tone turned negative (was {first_sentiment})")
        if len(mentions) > 1:
            reasons.append(f"the author wrote {len(mentions)} messages")
        case.monitor_checked_at = now
        if not (fresh.needs_response or turned):
            session.add(
                CaseEvent(
                    case=case,
                    at=now,
                    actor="recheck",
                    from_state=case.state,
                    to_state=case.state,
                    note="re-checked: still nothing to answer" + (f" ({'; '.join(reasons)})" if reasons else ""),
                )
            )
            continue
        triage.needs_response = True
        triage.level = fresh.level if fresh.level != "monitor" else "self_service"
        triage.sentiment = fresh.sentiment
        triage.category = fresh.category if fresh.category != "other" else triage.category
        triage.reasons = list(triage.reasons or []) + [f"re-check: {'; '.join(reasons)}"]
        triage.corrected_by = "recheck"
        case.level = max(case.level, triage.level, key=lambda lvl: cases.LEVEL_RANK.get(lvl, 0))
        cases.set_state(session, case, cases.NEW, "recheck", now, "re-checked: " + "; ".join(reasons), sla=config.sla)
        drafts = draft_for_mention(session, config, renderer, case, latest, now)
        session.flush()
        cases.after_drafting(session, case, bool(drafts), now)
        assignment.assign(session, config, case, now)
        escalated.append(case)
    session.flush()
    return checked, escalated


def unanswered(session: Session, now: datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Open cases whose latest customer message has neither an answer nor a recorded decision not to answer."""
    # One query, in the database, however many cases are open: each open case's latest message ...
    latest = (
        select(
            Mention.id,
            Mention.case_id,
            Mention.created_at,
            Mention.fetched_at,
            Mention.status,
            Mention.text,
            func.row_number()
            .over(partition_by=Mention.case_id, order_by=(Mention.created_at.desc(), Mention.id.desc()))
            .label("newest"),
        )
        .join(Case, Case.id == Mention.case_id)
        .where(Case.state.not_in(cases.FINISHED + (cases.MONITORING,)))
        .subquery()
    )
    # ... that a draft answers: one written for it, or any written after it arrived.
    answered = (
        select(Draft.id)
        .where(
            Draft.case_id == latest.c.case_id,
            Draft.status.in_(ANSWERING),
            or_(Draft.mention_id == latest.c.id, Draft.created_at >= latest.c.fetched_at),
        )
        .exists()
    )
    query = (
        select(Case, latest.c.id, latest.c.created_at, latest.c.text)
        .join(latest, latest.c.case_id == Case.id)
        .outerjoin(TriageResult, TriageResult.mention_id == latest.c.id)
        .where(
            latest.c.newest == 1,
            latest.c.status == MentionStatus.PROCESSED,  # still in the pipeline, which drafts or decides
            or_(TriageResult.needs_response.is_(None), TriageResult.needs_response.is_(True)),
            or_(Case.no_reply_at.is_(None), Case.no_reply_at < latest.c.created_at),
            ~answered,
        )
        .order_by(func.coalesce(Case.priority, 0.0).desc(), Case.id)
        .limit(limit)
    )
    found = session.execute(query).all()
    reasons: dict[int | None, str | None] = {}
    if found:
        for mention_id, reason in session.execute(
            select(Draft.mention_id, Draft.reject_reason)
            .where(Draft.mention_id.in_([row[1] for row in found]), Draft.status == DraftStatus.REJECTED)
            .order_by(Draft.id)
        ):
            reasons[mention_id] = reason
    rows = []
    for case, mention_id, written_at, text in found:
        why = (
            f"its draft was rejected ({reasons[mention_id]}) and nothing replaced it"
            if mention_id in reasons
            else "no draft was made for it"
        )
        rows.append(
            {
                "case_id": case.id,
                "mention_id": mention_id,
                "platform": case.platform,
                "state": case.state,
                "written_at": written_at,
                "text": text,
                "why": why,
            }
        )
    return rows


def decide_no_reply(session: Session, case_id: int, actor: str, reason: str, now: datetime) -> Case:
    """Record a person's decision not to answer a case's latest messages (audited)."""
    if not reason or not reason.strip():
        raise UserError("a decision not to answer needs a reason")
    case = cases.get_case(session, case_id)
    if case.state in cases.FINISHED:
        raise UserError(f"case {case_id} is already {case.state}")
    case.no_reply_at = now
    case.no_reply_reason = reason.strip()
    for draft in case.drafts:
        if draft.status == DraftStatus.PENDING:
            draft.status, draft.decided_by, draft.decided_at = DraftStatus.SUPERSEDED, actor, now
    session.add(
        CaseEvent(
            case=case,
            at=now,
            actor=actor,
            from_state=case.state,
            to_state=case.state,
            note=f"decided not to answer: {reason.strip()}",
        )
    )
    audit.record(session, now, actor, "no_reply", "case", case.id, reason=reason.strip())
    return case


def run(service) -> FollowupResult:
    """The daemon's follow-up step: follow-up drafts, monitored re-checks, and a warning for unanswered messages."""

    result = FollowupResult()
    now = service.clock.now()
    config = service.config
    with transaction(service.factory) as session:
        result.follow_ups = [d.id for d in draft_follow_ups(session, config, service.renderer, now)]
    with transaction(service.factory) as session:
        result.rechecked, escalated = recheck_monitored(session, config, service.renderer, service.triager, now)
        result.escalated = [c.id for c in escalated]
    with transaction(service.factory) as session:
        result.unanswered = len(unanswered(session, now))
    if result.follow_ups:
        log.info("drafted %d follow-up(s)", len(result.follow_ups))
    if result.escalated:
        log.warning("monitored thread(s) %s need a person now", ", ".join(f"#{c}" for c in result.escalated))
    if result.unanswered:
        log.warning(
            "%d customer message(s) have neither an answer nor a recorded decision not to answer", result.unanswered
        )
    return result
