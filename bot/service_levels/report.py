"""The service-level report: detection, platforms, response and resolution times, SLA, promises, topics."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import to_utc_naive
from bot.config import Config
from bot.errors import UserError
from bot.service_levels import eta, kpis
from bot.service_levels import reply_rubric as evaluation
from bot.storage.models import Account, Case, Mention, SlaAlert, TriageResult

_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '12h', '30m', '2w' before now, or an ISO date or time (UTC)."""
    match = _SPAN.match(value or "")
    if match:
        return now - timedelta(**{_UNIT[match.group(2).lower()]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise UserError(
            f"--since {value!r}: use a span such as 7d, 12h, 30m, 2w or a date such as 2026-01-31"
        ) from None
    if moment.tzinfo is not None:
        moment = to_utc_naive(moment)
    if moment > now:
        raise UserError(f"--since {value}: that is in the future")
    return moment


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def build(session: Session, config: Config, since: datetime, now: datetime, topics: int = 10) -> dict[str, Any]:
    """Every figure of the report for mentions and cases from since to now, as plain data."""
    # The KPI queries are shared with the console (bot/service_levels/kpis.py); the end is just past now so that what
    # arrived this very second counts.
    period = kpis.Period(since, now + timedelta(seconds=1))
    summary = kpis.summary(session, period, now)
    eta.record_promises(session)
    eta.measure(session, now)
    in_period = (Mention.created_at >= period.start, Mention.created_at < period.end)

    by_source = [
        {"account": account, "platform": platform, "stream": stream or "-", "mentions": count}
        for account, platform, stream, count in session.execute(
            select(Account.name, Mention.platform, Mention.stream, func.count(Mention.id))
            .join(Account, Account.id == Mention.account_id)
            .where(*in_period)
            .group_by(Account.name, Mention.platform, Mention.stream)
            .order_by(func.count(Mention.id).desc(), Account.name)
        )
    ]
    addressed = dict(
        session.execute(
            select(Mention.addressed_to_brand, func.count(Mention.id))
            .where(*in_period)
            .group_by(Mention.addressed_to_brand)
        ).all()
    )
    dimensions: dict[str, Counter[str]] = defaultdict(Counter)
    for row in kpis.volume_rows(session, period):
        _day, *values, count = row
        for name, value in zip(kpis.DIMENSIONS, values, strict=True):
            dimensions[name][value] += count
    modes = dict(
        session.execute(
            select(TriageResult.mode, func.count(TriageResult.id))
            .join(Mention, Mention.id == TriageResult.mention_id)
            .where(*in_period)
            .group_by(TriageResult.mode)
        ).all()
    )
    cases_per_platform = dict(
        session.execute(
            select(Case.platform, func.count(Case.id))
            .where(Case.opened_at >= period.start, Case.opened_at < period.end, kpis.counted_once())
            .group_by(Case.platform)
        ).all()
    )
    alerts = dict(
        session.execute(
            select(SlaAlert.kind, func.count(SlaAlert.id))
            .where(SlaAlert.fired_at >= period.start, SlaAlert.fired_at < period.end)
            .group_by(SlaAlert.kind)
        ).all()
    )
    ignore = [h.lstrip("@") for h in config.brand.handles] + [config.brand.name]
    top = kpis.top_topics(session, period, limit=topics, ignore=ignore)
    return {
        "period": {"since": since.isoformat(timespec="seconds"), "until": now.isoformat(timespec="seconds")},
        "detection": {
            "mentions": summary.mentions,
            "addressed_to_brand": addressed.get(True, 0),
            "not_addressed": addressed.get(False, 0),
            "by_source": by_source,
            "modes": dict(sorted(modes.items())),
        },
        "platforms": {
            name: {"mentions": dimensions["platform"].get(name, 0), "cases": cases_per_platform.get(name, 0)}
            for name in sorted(set(dimensions["platform"]) | set(cases_per_platform))
        },
        "cases_opened": summary.cases,
        "first_response": {
            "answered": summary.first_response.count,
            "median_minutes": _minutes(summary.first_response.median),
            "p90_minutes": _minutes(summary.first_response.p90),
        },
        "resolution": {
            "resolved": summary.resolution.count,
            "median_minutes": _minutes(summary.resolution.median),
            "p90_minutes": _minutes(summary.resolution.p90),
        },
        "sla": {
            "first_response_attainment": _share(summary.sla_first_response),
            "first_response_cases": summary.sla_first_response_counted,
            "resolution_attainment": _share(summary.sla_resolution),
            "resolution_cases": summary.sla_resolution_counted,
            "alerts": {kind: alerts.get(kind, 0) for kind in ("warning", "breach", "maximum")},
        },
        "categories": dict(dimensions["category"].most_common()),
        "levels": dict(dimensions["level"].most_common()),
        "sentiments": dict(dimensions["sentiment"].most_common()),
        "languages": dict(dimensions["language"].most_common()),
        "public_cases": {
            "resolved": summary.public_resolved,
            "closed_in_public_share": _share(summary.public_closed_share),
        },
        "promises": eta.promise_stats(session, period.start, period.end),
        "tags": kpis.cases_by_tag(session, period),
        "topics": [{"term": t.term, "mentions": t.mentions, "examples": [e["text"] for e in t.examples]} for t in top],
        "quality": {
            "by_agent": evaluation.by_agent(session, config, period.start, period.end),
            "by_template": evaluation.by_template(session, config, period.start, period.end),
        },
    }


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _num(value: Any) -> str:
    return "-" if value is None else str(value)


def render_text(report: dict[str, Any], console: Console) -> None:
    """The report as rich tables for people."""
    period = report["period"]
    console.print(f"[bold]Service-level report[/bold] {period['since']} → {period['until']} UTC")
    detection = report["detection"]
    table = Table(
        title=f"Detection: {detection['mentions']} mention(s), {detection['addressed_to_brand']} addressed to "
        f"the brand, {detection['not_addressed']} found by listening"
    )
    for column in ("account", "platform", "stream", "mentions"):
        table.add_column(column, justify="right" if column == "mentions" else "left")
    for row in detection["by_source"]:
        table.add_row(escape(row["account"]), row["platform"], row["stream"], str(row["mentions"]))
    console.print(table)
    platforms = Table(title="Platforms")
    for column in ("platform", "mentions", "cases opened"):
        platforms.add_column(column, justify="left" if column == "platform" else "right")
    for name, row in report["platforms"].items():
        platforms.add_row(name, str(row["mentions"]), str(row["cases"]))
    console.print(platforms)
    times = Table(title=f"Times and SLA ({report['cases_opened']} case(s) opened)")
    for column in ("measure", "cases", "median (min)", "p90 (min)", "SLA met"):
        times.add_column(column, justify="left" if column == "measure" else "right")
    first, resolution, sla = report["first_response"], report["resolution"], report["sla"]
    times.add_row(
        "first response",
        str(first["answered"]),
        _num(first["median_minutes"]),
        _num(first["p90_minutes"]),
        f"{_pct(sla['first_response_attainment'])} of {sla['first_response_cases']}",
    )
    times.add_row(
        "resolution",
        str(resolution["resolved"]),
        _num(resolution["median_minutes"]),
        _num(resolution["p90_minutes"]),
        f"{_pct(sla['resolution_attainment'])} of {sla['resolution_cases']}",
    )
    console.print(times)
    alerts = sla["alerts"]
    promises = report["promises"]
    public = report["public_cases"]
    console.print(
        f"SLA alerts: {alerts['warning']} warning(s), {alerts['breach']} breach(es), "
        f"{alerts['maximum']} past the maximum"
    )
    console.print(
        f"Public cases resolved: {public['resolved']}, closed in public: {_pct(public['closed_in_public_share'])}"
    )
    console.print(
        f"ETA promises: {promises['made']} made, {promises['kept']} kept, {promises['broken']} broken, "
        f"{promises['open']} still open (kept: {_pct(promises['kept_share'])})"
    )
    mix = Table(title="Categories and levels")
    mix.add_column("category")
    mix.add_column("mentions", justify="right")
    mix.add_column("level")
    mix.add_column("mentions ", justify="right")
    categories, levels = list(report["categories"].items()), list(report["levels"].items())
    for index in range(max(len(categories), len(levels))):
        category = categories[index] if index < len(categories) else ("", "")
        level = levels[index] if index < len(levels) else ("", "")
        mix.add_row(category[0], str(category[1]), level[0], str(level[1]))
    console.print(mix)
    console.print(
        "Languages: " + (", ".join(f"{escape(lang)} {n}" for lang, n in report["languages"].items()) or "none")
    )
    if report.get("tags"):
        tagged = Table(title="Cases by tag")
        tagged.add_column("tag")
        tagged.add_column("cases", justify="right")
        for tag, count in report["tags"].items():
            tagged.add_row(escape(tag), str(count))
        console.print(tagged)
    topics = Table(title="Top topics (for continuous improvement)")
    topics.add_column("topic")
    topics.add_column("mentions", justify="right")
    topics.add_column("examples", overflow="fold")
    for topic in report["topics"]:
        topics.add_row(
            escape(topic["term"]), str(topic["mentions"]), escape("\n".join(f"“{text}”" for text in topic["examples"]))
        )
    console.print(topics)
    for title, key in (("Reply quality per agent", "agent"), ("Reply quality per template", "template")):
        rows = report["quality"][f"by_{key}"]
        if not rows:
            continue
        quality = Table(title=title)
        for column in (key, "replies scored", "mean /100"):
            quality.add_column(column, justify="left" if column == key else "right")
        for row in rows:
            quality.add_row(escape(row[key]), str(row["replies"]), f"{row['mean_total']:.1f}")
        console.print(quality)
