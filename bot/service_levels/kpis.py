"""KPIs: volume, response and resolution times, SLA attainment, public closes, top topics, CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, delete, exists, func, literal_column, select, type_coerce, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from bot.storage.db import dialect_insert
from bot.storage.models import Case, CaseTag, KpiVolume, KpiWatermark, Mention, TriageResult
from bot.storage.statuses import FINISHED_STATES, MentionStatus

DIMENSIONS = ("platform", "category", "sentiment", "level", "language")
VOLUME = "volume"
# The triage columns the volume rollup counts by, in the order of DIMENSIONS after the platform.
TRIAGED = (TriageResult.category, TriageResult.sentiment, TriageResult.level, TriageResult.language)
# Triage results younger than this stay out of the rollup and are counted live: a transaction still open in
# another daemon may hold a lower id that commits later, and it must not be skipped.
SETTLE = timedelta(minutes=10)
FINISHED = FINISHED_STATES
WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
HANDLE_OR_URL = re.compile(r"(@\w+|#\w+|https?://\S+)")
STOPWORDS = frozenset(
    """
a about after again all also am an and any are aren't as at be because been before being but by can can't cannot
could did didn't do does doesn't doing don't down during each even ever every few for from further get gets got had
has hasn't have haven't having he her here hers him his how i i'm i've if in into is isn't it it's its itself just
let me more most my no nor not now of off ok okay on once only or other our ours out over own please really same she
should so some still such than thank thanks that that's the their them then there these they this those through to
too under until up us very was wasn't we we're were what when where which while who whom why will with won't would
you you're your yours yet hi hello hey guys lol omg since today yesterday tomorrow one two day days time week weeks
again already anyone anything someone something way want need know think going go im dont cant its ive
without within still anymore every everything nothing got getting make made back new
el la los las un una unos unas y o pero que de del al en con por para sin sobre es son fue ser estar está están
estoy hay muy más mas ya no sí si mi mis tu tus su sus me te se lo le les nos como cuando donde porque qué cómo
este esta esto estos estas ese esa eso otra otro todo todos nada algo hola gracias por favor hoy ayer mañana día
días semana tengo tiene tienen hace hacer llevo sigue sigo vez veces aún todavía nadie alguien quiero puedo
desde hasta entre tras otra otros otras también tampoco solo sólo ahora mismo nuevo nueva va van voy ha he han
""".split()
)


@dataclass
class Period:
    """A half-open range of days [start, end) in naive UTC."""

    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, now: datetime, days: int) -> Period:
        """The last `days` days up to and including today."""
        end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        return cls(end - timedelta(days=days), end)

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        """From the first day to the last day, both included."""
        if last < first:
            first, last = last, first
        return cls(
            datetime.combine(first, datetime.min.time()),
            datetime.combine(last + timedelta(days=1), datetime.min.time()),
        )

    def days(self) -> list[str]:
        """Every day of the period as YYYY-MM-DD."""
        count = (self.end - self.start).days
        return [(self.start + timedelta(days=i)).date().isoformat() for i in range(count)]


@dataclass
class Durations:
    """How long something took over a set of cases, in seconds."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass
class Topic:
    """A word many mentions share, with a few of them as examples."""

    term: str
    mentions: int
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Summary:
    """The headline KPIs of a period."""

    period: Period
    mentions: int
    cases: int
    first_response: Durations
    resolution: Durations
    sla_first_response: float | None
    sla_first_response_counted: int
    sla_resolution: float | None
    sla_resolution_counted: int
    public_closed_share: float | None
    public_resolved: int

    def rows(self) -> list[tuple[str, Any]]:
        """(metric, value) pairs for the CSV export and the report."""
        return [
            ("period_start", self.period.start.date().isoformat()),
            ("period_end", (self.period.end - timedelta(days=1)).date().isoformat()),
            ("mentions", self.mentions),
            ("cases_opened", self.cases),
            ("first_response_cases", self.first_response.count),
            ("first_response_median_seconds", _round(self.first_response.median)),
            ("first_response_p90_seconds", _round(self.first_response.p90)),
            ("resolution_cases", self.resolution.count),
            ("resolution_median_seconds", _round(self.resolution.median)),
            ("resolution_p90_seconds", _round(self.resolution.p90)),
            ("sla_first_response_attainment", _round(self.sla_first_response, 4)),
            ("sla_first_response_cases", self.sla_first_response_counted),
            ("sla_resolution_attainment", _round(self.sla_resolution, 4)),
            ("sla_resolution_cases", self.sla_resolution_counted),
            ("public_closed_share", _round(self.public_closed_share, 4)),
            ("public_cases_resolved", self.public_resolved),
        ]


def counted_once() -> ColumnElement[bool]:
    """A merged case counts once: the case it went into stands for it (an id subquery keeps the covering index)."""
    return Case.id.not_in(select(Case.id).where(Case.merged_into_id.is_not(None)))


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    """A SQL expression for later - earlier in seconds, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        # EXTRACT is typed as an integer, but epoch seconds have a fraction: say so (the SQL is the same).
        return type_coerce(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _day(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def _aligned(period: Period) -> bool:
    return period.start.time() == datetime.min.time() and period.end.time() == datetime.min.time()


def volume_rows(session: Session, period: Period) -> list[tuple[str, str, str, str, str, str, int]]:
    """Mentions per (day, platform, category, sentiment, level, language); untriaged ones count as 'pending'."""
    if not _aligned(period):
        return _volume_direct(session, period)
    # Whole days: the rollup, plus the triage results it does not hold yet, plus mentions not triaged yet.
    first_day, last_day = period.start.date().isoformat(), (period.end - timedelta(days=1)).date().isoformat()
    counts: Counter[tuple[str, str, str, str, str, str]] = Counter()
    for day, platform, category, sentiment, level, language, mentions in session.execute(
        select(
            KpiVolume.day,
            KpiVolume.platform,
            KpiVolume.category,
            KpiVolume.sentiment,
            KpiVolume.level,
            KpiVolume.language,
            KpiVolume.mentions,
        ).where(KpiVolume.day >= first_day, KpiVolume.day <= last_day)
    ):
        counts[(day, platform, category, sentiment, level, language)] += int(mentions)
    for day, platform, category, sentiment, level, language, live in _volume_live(session, period):
        counts[(day, platform, category, sentiment, level, language)] += live
    return [(*key, n) for key, n in counts.items() if n]


def _volume_live(session: Session, period: Period) -> list[tuple[str, str, str, str, str, str, int]]:
    """What the rollup does not hold yet: triage results past its watermark, and mentions not triaged yet."""
    last = _watermark(session)
    counts: Counter[tuple[str, str, str, str, str, str]] = Counter()
    day = _day(session, Mention.created_at)
    tail = (
        select(day, Mention.platform, *TRIAGED, func.count())
        .select_from(TriageResult)
        .join(Mention, Mention.id == TriageResult.mention_id)
        .where(
            TriageResult.id > last,
            Mention.created_at >= period.start,
            Mention.created_at < period.end,
            # Steers the planner to the few new triage rows rather than every mention of the period.
            Mention.id.in_(select(TriageResult.mention_id).where(TriageResult.id > last)),
        )
        .group_by(day, Mention.platform, *TRIAGED)
    )
    # Untriaged mentions are few: find them by status and apply the period below. SQLite's statistics only know
    # that most mentions share a status, so tell its planner this term is selective or it scans every mention.
    untriaged: ColumnElement[bool] = Mention.status.in_((MentionStatus.NEW, MentionStatus.FAILED))
    if session.get_bind().dialect.name == "sqlite":
        untriaged = func.likelihood(untriaged, literal_column("0.001"))  # must be a literal, not a parameter
    pending = (
        select(Mention.created_at, Mention.platform)
        .select_from(Mention)
        .outerjoin(TriageResult, TriageResult.mention_id == Mention.id)
        .where(untriaged, TriageResult.id.is_(None))
    )
    if (session.scalar(select(func.max(TriageResult.id))) or 0) > last:
        for d, platform, category, sentiment, level, language, n in session.execute(tail):
            counts[(str(d), platform, category, sentiment, level, language)] += int(n)
    for created_at, platform in session.execute(pending):
        if period.start <= created_at < period.end:
            counts[(f"{created_at:%Y-%m-%d}", platform, "pending", "pending", "pending", "pending")] += 1
    return [(*key, n) for key, n in counts.items() if n]


def _volume_direct(session: Session, period: Period) -> list[tuple[str, str, str, str, str, str, int]]:
    day = _day(session, Mention.created_at)
    category = func.coalesce(TriageResult.category, "pending")
    sentiment = func.coalesce(TriageResult.sentiment, "pending")
    level = func.coalesce(TriageResult.level, "pending")
    language = func.coalesce(TriageResult.language, "pending")
    query = (
        select(day, Mention.platform, category, sentiment, level, language, func.count())
        .select_from(Mention)
        .outerjoin(TriageResult, TriageResult.mention_id == Mention.id)
        .where(Mention.created_at >= period.start, Mention.created_at < period.end)
        .group_by(day, Mention.platform, category, sentiment, level, language)
    )
    return [(str(d), p, c, s, lvl, lang, int(n)) for d, p, c, s, lvl, lang, n in session.execute(query)]


def _watermark(session: Session) -> int:
    return session.scalar(select(KpiWatermark.last_id).where(KpiWatermark.name == VOLUME)) or 0


def refresh_volume(session: Session, now: datetime) -> int:
    """Fold settled triage results into the daily volume rollup; returns how many mentions were added."""
    last = _watermark(session)
    top = session.scalar(
        select(func.max(TriageResult.id)).where(TriageResult.id > last, TriageResult.created_at < now - SETTLE)
    )
    if not top:
        return 0
    # Claim the range first: a concurrent refresh of the same range then changes nothing.
    # RETURNING says whether this statement made the change (rowcount is not reliable for upserts everywhere).
    if last == 0 and session.get(KpiWatermark, VOLUME) is None:
        claimed = session.scalar(
            dialect_insert(session, KpiWatermark)
            .values(name=VOLUME, last_id=top)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(KpiWatermark.name)
        )
    else:
        claimed = session.scalar(
            update(KpiWatermark)
            .where(KpiWatermark.name == VOLUME, KpiWatermark.last_id == last)
            .values(last_id=top)
            .returning(KpiWatermark.name)
        )
    if claimed is None:
        return 0
    day = _day(session, Mention.created_at)
    rows = session.execute(
        select(day, Mention.platform, *TRIAGED, func.count())
        .select_from(TriageResult)
        .join(Mention, Mention.id == TriageResult.mention_id)
        .where(TriageResult.id > last, TriageResult.id <= top)
        .group_by(day, Mention.platform, *TRIAGED)
    ).all()
    values = [
        {
            "day": str(d),
            "platform": p,
            "category": c,
            "sentiment": se,
            "level": lv,
            "language": lang,
            "mentions": int(n),
        }
        for d, p, c, se, lv, lang, n in rows
    ]
    for start in range(0, len(values), 500):
        _upsert_volume(session, values[start : start + 500])
    return sum(v["mentions"] for v in values)


def _upsert_volume(session: Session, values: list[dict[str, Any]]) -> None:
    statement = dialect_insert(session, KpiVolume).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "platform", "category", "sentiment", "level", "language"],
            set_={"mentions": KpiVolume.mentions + statement.excluded.mentions},
        )
    )


def _add_volume(
    session: Session, day: str, platform: str, category: str, sentiment: str, level: str, language: str, count: int
) -> None:
    _upsert_volume(
        session,
        [
            {
                "day": day,
                "platform": platform,
                "category": category,
                "sentiment": sentiment,
                "level": level,
                "language": language,
                "mentions": count,
            }
        ],
    )


def triage_changed(session: Session, mention: Mention, triage: TriageResult, before: tuple[str, str, str]) -> None:
    """Move a corrected mention between rollup rows (its category, sentiment and level before the correction)."""
    if triage.id is None or triage.id > _watermark(session):
        return  # not in the rollup yet: it is counted live with its new values
    after = (triage.category, triage.sentiment, triage.level)
    if after == before:
        return
    day = f"{mention.created_at:%Y-%m-%d}"
    # A correction never changes the language (people correct category, sentiment, level): it keeps its row.
    _add_volume(session, day, mention.platform, *before, triage.language, -1)
    _add_volume(session, day, mention.platform, *after, triage.language, 1)


def rebuild_volume(session: Session, now: datetime) -> int:
    """Recount the whole volume rollup from the mentions (after a restore or a bulk import)."""
    session.execute(delete(KpiVolume))
    session.execute(delete(KpiWatermark).where(KpiWatermark.name == VOLUME))
    return refresh_volume(session, now)


def volume_per_day(
    session: Session, period: Period, rows: list[tuple[str, str, str, str, str, str, int]] | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """For each dimension (platform, category, sentiment, level, language): {value: {day: mentions}}."""
    result: dict[str, dict[str, dict[str, int]]] = {d: defaultdict(lambda: defaultdict(int)) for d in DIMENSIONS}
    if rows is None and _aligned(period):
        # Each dimension summed by the database from the rollup (a few hundred rows), then the live part on top.
        first_day, last_day = period.start.date().isoformat(), (period.end - timedelta(days=1)).date().isoformat()
        for dimension in DIMENSIONS:
            column = getattr(KpiVolume, dimension)
            for day, value, count in session.execute(
                select(KpiVolume.day, column, func.sum(KpiVolume.mentions))
                .where(KpiVolume.day >= first_day, KpiVolume.day <= last_day)
                .group_by(KpiVolume.day, column)
            ):
                result[dimension][value][day] += int(count)
        rows = _volume_live(session, period)
    elif rows is None:
        rows = volume_rows(session, period)
    for day, *values, count in rows:
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            result[dimension][value][day] += count
    return {
        d: {v: {day: n for day, n in days.items() if n} for v, days in sorted(by.items()) if any(days.values())}
        for d, by in result.items()
    }


def _percentiles(session: Session, expression: ColumnElement[float], *where: Any) -> Durations:
    # A histogram made by the database in one pass over a covering index: 10-second buckets under ten minutes,
    # minutes under six hours, ten minutes beyond (the console shows no finer than that), so few rows come back.
    bucket = sql_case(
        (expression < 600, func.round(expression / 10) * 10),
        (expression < 21600, func.round(expression / 60) * 60),
        else_=func.round(expression / 600) * 600,
    )
    rows = session.execute(
        select(bucket, func.count()).select_from(Case).where(*where).group_by(bucket).order_by(bucket)
    ).all()
    count = sum(int(n) for _, n in rows)
    if not count:
        return Durations()

    def at(fraction: float) -> float:
        rank = int(round(fraction * (count - 1)))  # nearest rank on the sorted durations
        seen = 0
        for value, n in rows:
            seen += int(n)
            if seen > rank:
                return float(max(0, round(value or 0)))
        return float(max(0, round(rows[-1][0] or 0)))

    return Durations(count, at(0.5), at(0.9))


def first_response_times(session: Session, period: Period) -> Durations:
    """Time from a case's first message to its first posted answer, for cases opened in the period."""
    expression = seconds_between(session, Case.first_response_at, Case.opened_at)
    return _percentiles(
        session,
        expression,
        Case.opened_at >= period.start,
        Case.opened_at < period.end,
        Case.first_response_at.is_not(None),
        counted_once(),
    )


def resolution_times(session: Session, period: Period) -> Durations:
    """Time from a case's first message to its resolution, less the time spent waiting on the customer."""
    expression = seconds_between(session, Case.resolved_at, Case.opened_at) - func.coalesce(Case.paused_seconds, 0.0)
    return _percentiles(
        session,
        expression,
        Case.opened_at >= period.start,
        Case.opened_at < period.end,
        Case.resolved_at.is_not(None),
        counted_once(),
    )


def sla_attainment(session: Session, period: Period, now: datetime) -> tuple[float | None, int, float | None, int]:
    """(first-response attainment, cases counted, resolution attainment, cases counted) for cases opened in the period.

    A case counts once its clock has run out or it was answered: answered in time is met, answered late or
    still unanswered past its due time is missed; monitored cases have no clock and are left out.
    """
    return _case_figures(session, period, now)[1:]


def _case_figures(session: Session, period: Period, now: datetime) -> tuple[int, float | None, int, float | None, int]:
    """(cases opened, SLA figures as sla_attainment gives them), in one pass over the covering index."""
    clocked = and_(Case.level != "monitor", Case.first_response_due_at.is_not(None))
    answered = Case.first_response_at.is_not(None)
    counted = and_(clocked, answered | (Case.first_response_due_at < now))
    met = and_(counted, answered, Case.first_response_at <= Case.first_response_due_at)
    resolved = Case.resolved_at.is_not(None)
    r_counted = and_(clocked, Case.resolution_due_at.is_not(None), resolved | (Case.resolution_due_at < now))
    r_met = and_(r_counted, resolved, Case.resolved_at <= Case.resolution_due_at)
    cases, total, good, r_total, r_good = session.execute(
        select(
            func.count(),
            func.sum(_as_int(counted)),
            func.sum(_as_int(met)),
            func.sum(_as_int(r_counted)),
            func.sum(_as_int(r_met)),
        )
        .select_from(Case)
        .where(Case.opened_at >= period.start, Case.opened_at < period.end, counted_once())
    ).one()
    total, r_total = int(total or 0), int(r_total or 0)
    first = (int(good or 0) / total) if total else None
    resolution = (int(r_good or 0) / r_total) if r_total else None
    return int(cases or 0), first, total, resolution, r_total


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sql_case((condition, 1), else_=0)


def public_closed_share(session: Session, period: Period) -> tuple[float | None, int]:
    """Of the public cases resolved in the period, the share whose positive close was posted in public."""
    public = exists().where(Mention.case_id == Case.id, Mention.channel == "public")
    total, closed = session.execute(
        select(func.count(), func.sum(_as_int(Case.closed_at.is_not(None))))
        .select_from(Case)
        .where(Case.resolved_at >= period.start, Case.resolved_at < period.end, public, counted_once())
    ).one()
    return ((int(closed or 0) / total) if total else None), int(total or 0)


def cases_by_tag(session: Session, period: Period, limit: int = 50) -> dict[str, int]:
    """Cases opened in the period per tag (a case with two tags counts for each, a merged one once), most used first."""
    cases = func.count(func.distinct(CaseTag.case_id))
    rows = session.execute(
        select(CaseTag.tag, cases)
        .join(Case, Case.id == CaseTag.case_id)
        .where(Case.opened_at >= period.start, Case.opened_at < period.end, counted_once())
        .group_by(CaseTag.tag)
        .order_by(cases.desc(), CaseTag.tag)
        .limit(limit)
    )
    return {tag: int(count) for tag, count in rows}


def terms(text: str, ignore: Iterable[str] = ()) -> set[str]:
    """The distinct topic words of a text: lower-case, without handles, links, stop words or ignored words."""
    ignored = set(ignore)
    words = WORD.findall(HANDLE_OR_URL.sub(" ", text.lower()))
    return {w.strip("'’-") for w in words if w not in STOPWORDS and w not in ignored and len(w.strip("'’-")) > 2}


def top_topics(
    session: Session, period: Period, limit: int = 10, sample: int = 2000, examples: int = 3, ignore: Iterable[str] = ()
) -> list[Topic]:
    """The words most mentions of the period share (spam and idle chatter left out), each with a few example mentions."""
    query = (
        select(Mention.id, Mention.text, Mention.platform, Mention.case_id)
        .select_from(Mention)
        .outerjoin(TriageResult, TriageResult.mention_id == Mention.id)
        .where(
            Mention.created_at >= period.start,
            Mention.created_at < period.end,
            # spam and idle chatter (other, only monitored) teach nothing; an "other" that needs work does
            ~(
                (func.coalesce(TriageResult.category, "pending") == "other")
                & (func.coalesce(TriageResult.level, "pending") == "monitor")
            ),
        )
        .order_by(Mention.created_at.desc())
        .limit(sample)
    )
    ignored = {w.lower().lstrip("@") for w in ignore}
    counts: Counter[str] = Counter()
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mention_id, text, platform, case_id in session.execute(query):
        for term in terms(text, ignored):
            counts[term] += 1
            if len(seen[term]) < examples:
                seen[term].append({"mention_id": mention_id, "case_id": case_id, "platform": platform, "text": text})
    return [Topic(term, count, seen[term]) for term, count in counts.most_common(limit) if count > 1]


def summary(session: Session, period: Period, now: datetime) -> Summary:
    """Every headline KPI of the period."""
    mentions = (
        session.scalar(
            select(func.count())
            .select_from(Mention)
            .where(Mention.created_at >= period.start, Mention.created_at < period.end)
        )
        or 0
    )
    cases, sla_first, sla_first_n, sla_res, sla_res_n = _case_figures(session, period, now)
    share, public_resolved = public_closed_share(session, period)
    return Summary(
        period,
        mentions,
        cases,
        first_response_times(session, period),
        resolution_times(session, period),
        sla_first,
        sla_first_n,
        sla_res,
        sla_res_n,
        share,
        public_resolved,
    )


def volume_csv(session: Session, period: Period) -> str:
    """Mentions per day and platform, category, sentiment, level and language, as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["day", *DIMENSIONS, "mentions"])
    writer.writerows(sorted(volume_rows(session, period)))
    return buffer.getvalue()


def summary_csv(session: Session, period: Period, now: datetime) -> str:
    """The headline KPIs of the period as metric,value CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value"])
    writer.writerows(("" if v is None else v for v in row) for row in summary(session, period, now).rows())
    return buffer.getvalue()
