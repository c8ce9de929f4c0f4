"""What `python -m bot status` reports: accounts' health and budget, work in progress, alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.casework import followups
from bot.early_warning import summary as incidents
from bot.intake import read_budget as budget
from bot.notifications import delivery as notification_delivery
from bot.service_levels import sla
from bot.storage.db import transaction
from bot.storage.models import Account, Case, Draft, Mention, OutboxMessage
from bot.storage.statuses import CLOCK_STOPPED_STATES, IDLE_STATES, DraftStatus, MentionStatus, OutboxStatus


def calls_per_hour(account_config) -> float:
    """API calls per hour the config will make for an account."""
    return budget.calls_per_hour(account_config)


def collect(service) -> dict[str, Any]:
    """The status report as plain data."""
    config = service.config
    report: dict[str, Any] = {"accounts": [], "counts": {}, "alerts": []}
    with transaction(service.factory) as session:
        rows = {a.name: a for a in session.scalars(select(Account))}
        for account_config in config.accounts:
            row = rows.get(account_config.name)
            entry = {
                "name": account_config.name,
                "platform": account_config.platform,
                "enabled": account_config.enabled,
                "health": (row.health if row else "unknown") if account_config.enabled else "disabled",
                "last_poll": f"{row.last_poll_at:%Y-%m-%d %H:%M:%S}" if row and row.last_poll_at else None,
                "rate_limited_until": f"{row.rate_limited_until:%H:%M:%S}" if row and row.rate_limited_until else None,
                "calls_per_hour": calls_per_hour(account_config) if account_config.enabled else 0,
                "api_calls": row.api_calls if row else 0,
                "detail": (row.health_detail or row.last_error) if row else None,
            }
            report["accounts"].append(entry)
            if entry["health"] == "needs_reauth":
                report["alerts"].append(f"account {account_config.name} needs re-authorisation: {entry['detail']}")
        count = lambda q: session.scalar(q) or 0  # noqa: E731
        report["counts"] = {
            "mentions": count(select(func.count(Mention.id))),
            "mentions_failed": count(select(func.count(Mention.id)).where(Mention.status == MentionStatus.FAILED)),
            "open_cases": count(select(func.count(Case.id)).where(Case.state.not_in(IDLE_STATES))),
            "drafts_pending": count(select(func.count(Draft.id)).where(Draft.status == DraftStatus.PENDING)),
            "drafts_blocked": count(select(func.count(Draft.id)).where(Draft.status == DraftStatus.BLOCKED)),
            "outbox_queued": count(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.UNKNOWN, OutboxStatus.SENDING))
                )
            ),
            "sent": count(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.SENT)),
            "send_failed": count(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.FAILED)
            ),
        }
        now = service.clock.now()
        overdue = count(
            select(func.count(Case.id)).where(
                Case.first_response_at.is_(None),
                Case.first_response_due_at < now,
                Case.state.not_in(CLOCK_STOPPED_STATES),
            )
        )
        if overdue:
            report["alerts"].append(f"{overdue} case(s) past their first-response target")
        report["incidents"] = [
            {**i, "started_at": f"{i['started_at']:%Y-%m-%d %H:%M}"} for i in incidents.open_now(session)
        ]
        report["alerts"].extend(f"{i['line']}; {i['cases']} case(s)" for i in report["incidents"])
        report["sla"] = sla.status_summary(session, config, now)
        report["alerts"].extend(report["sla"].pop("lines"))
        report["alerts"].extend(notification_delivery.status_lines(session, config, now))
        waiting = followups.unanswered(session, now)
        report["counts"]["unanswered_messages"] = len(waiting)
        if waiting:
            report["alerts"].append(
                f"{len(waiting)} customer message(s) with neither an answer nor a recorded decision "
                f"not to answer (cases {', '.join(str(w['case_id']) for w in waiting[:10])}; "
                f"python -m bot no-reply CASE --reason …)"
            )
    return report
