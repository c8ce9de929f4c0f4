"""/healthz and /metrics (Prometheus, through prometheus-client), served by the console or by the daemon on its port.

Three kinds of figures: counters of what this process did (mentions fetched, triaged, messages sent, rate-limit
waits, …; labelled with the worker, so several daemons add up) and a histogram of how long each scheduled step
took; gauges read from the database (drafts pending, queue age, outbox states, SLA alerts, API calls per
account), which every daemon reports alike: take max() across daemons, not sum(), for those; and the process's
own figures (CPU, memory, open files) from prometheus-client's process collector.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import and_, func, or_, select

from bot.early_warning import summary as incidents
from bot.service_levels import sla
from bot.storage.db import transaction
from bot.storage.db_faults import classify
from bot.storage.models import Account, Case, Draft, Mention, OutboxMessage, SlaAlert
from bot.storage.statuses import FINISHED_STATES, DraftStatus, MentionStatus

log = logging.getLogger(__name__)
PREFIX = "mention_desk_"
# The text format every Prometheus (2.x and 3.x) and most agents read; our names need nothing newer.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# How long each scheduled step took (polls, pipeline, outbox, SLA …): the buckets span a quick poll to a slow backlog.
STEP_SECONDS = Histogram(
    f"{PREFIX}step_duration_seconds",
    "How long each scheduled step of this daemon took.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=None,
)

# name: (type, help) of the counters this process keeps
COUNTERS = {
    "mentions_fetched_total": "Mentions fetched from the platforms by this daemon.",
    "mentions_stored_total": "New mentions this daemon stored (duplicates are not counted).",
    "mentions_triaged_total": "Mentions this daemon triaged, put in a case and drafted for.",
    "mentions_failed_total": "Mentions this daemon could not process (kept with status 'failed').",
    "drafts_created_total": "Drafts this daemon created.",
    "messages_sent_total": "Replies this daemon posted (or found already posted when reconciling).",
    "polls_total": "Polls this daemon ran, by account and outcome (ok, error, skipped).",
    "rate_limit_waits_total": "Polls skipped or stopped because a platform's rate limit was reached.",
    "job_errors_total": "Scheduled steps that failed with an unexpected error, by job.",
    "database_errors_total": "Steps that failed because the database was unreachable, full or locked.",
    "config_reloads_total": "Config reloads, by result (ok, error).",
    "notifications_sent_total": "Notifications this daemon delivered to a channel.",
    "notifications_failed_total": "Attempts to deliver a notification that failed (retried, or given up).",
}


class Metrics:
    """Counters of what this process did, by name and labels; thread-safe."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter (name without the prefix, one of COUNTERS)."""
        if name not in COUNTERS:
            raise KeyError(f"unknown counter {name!r}")
        if amount:
            with self._lock:
                self._values[(name, tuple(sorted(labels.items())))] += amount

    def value(self, name: str, **labels: str) -> float:
        """A counter's current value (0 when never counted)."""
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def items(self) -> list[tuple[str, dict[str, str], float]]:
        """Every counter as (name, labels, value)."""
        with self._lock:
            return [(name, dict(labels), value) for (name, labels), value in sorted(self._values.items())]


METRICS = Metrics()
_daemon = None  # the daemon running in this process, if any: its leases, database watch and reloads


def attach(daemon) -> None:
    """Let /healthz and /metrics report on the daemon running in this process."""
    global _daemon
    _daemon = daemon


def detach(daemon) -> None:
    """Forget a stopped daemon."""
    global _daemon
    if _daemon is daemon:
        _daemon = None


Samples = list[tuple[dict[str, str], float]]


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> Metric:
    """One metric family of our figures, as prometheus-client renders it."""
    rows = list(samples)
    labels = sorted({key for sample_labels, _ in rows for key in sample_labels})
    family_type = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    family = family_type(
        f"{PREFIX}{name.removesuffix('_total') if kind == 'counter' else name}", help_text, labels=labels
    )
    for sample_labels, value in rows:
        family.add_metric([str(sample_labels.get(key, "")) for key in labels], float(value))
    return family


class _Figures:
    """The figures of one scrape: this process's counters, the database's gauges, the daemon's leases."""

    def __init__(self, service):
        self.service = service

    def collect(self) -> Iterator[Metric]:
        """Every family, read now (prometheus-client calls this once per scrape)."""
        service = self.service
        daemon = _daemon if _daemon is not None and _daemon.service is service else None
        worker = service.claimant
        by_name: dict[str, Samples] = defaultdict(list)
        for name, labels, value in METRICS.items():
            by_name[name].append(({**labels, "worker": worker}, value))
        for name, help_text in COUNTERS.items():
            yield _family(name, "counter", help_text, by_name.get(name) or [({"worker": worker}, 0)])
        reachable = 1
        try:
            with transaction(service.factory) as session:
                figures = database_figures(session, service.clock.now())
        except Exception as error:  # noqa: BLE001 - a scrape during an outage still answers, saying so
            reachable, figures = 0, []
            log.debug("metrics: database figures unavailable: %s", error)
        for name, kind, help_text, samples in figures:
            yield _family(name, kind, help_text, samples)
        yield _family(
            "database_up",
            "gauge",
            "1 when this daemon reached the database for these figures.",
            [({"worker": worker}, reachable)],
        )
        if daemon is not None:
            yield _family(
                "leases_held",
                "gauge",
                "1 for each lease (account polling, singleton job) this daemon holds.",
                [
                    ({"worker": worker, "lease": name}, 1 if daemon.leases.holds(name) else 0)
                    for name in daemon.leases.wanted
                ],
            )


def database_figures(session, now: datetime) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    """Gauges read from the database: (name, type, help, samples); cheap at millions of rows (indexed filters)."""
    figures: list[tuple[str, str, str, list[tuple[dict[str, str], float]]]] = []
    pending = session.execute(
        select(func.count(Draft.id), func.min(Draft.created_at)).where(Draft.status == DraftStatus.PENDING)
    ).one()
    figures.append(("drafts_pending", "gauge", "Drafts waiting for a person's decision.", [({}, pending[0] or 0)]))
    figures.append(
        (
            "queue_oldest_age_seconds",
            "gauge",
            "Age of the oldest draft waiting for approval (0 when none).",
            [({}, max(0.0, (now - pending[1]).total_seconds()) if pending[1] else 0.0)],
        )
    )
    new = session.execute(
        select(func.count(Mention.id), func.min(Mention.fetched_at)).where(Mention.status == MentionStatus.NEW)
    ).one()
    figures.append(("mentions_pending", "gauge", "Stored mentions not triaged yet.", [({}, new[0] or 0)]))
    figures.append(
        (
            "mentions_pending_oldest_age_seconds",
            "gauge",
            "How long the oldest untriaged mention has waited since it was fetched (0 when none).",
            [({}, max(0.0, (now - new[1]).total_seconds()) if new[1] else 0.0)],
        )
    )
    states = ("queued", "sending", "unknown", "failed", "blocked")
    outbox = dict(
        session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .where(OutboxMessage.status.in_(states))
            .group_by(OutboxMessage.status)
        ).all()
    )
    figures.append(
        (
            "outbox_messages",
            "gauge",
            "Outbox messages not (yet) sent, by status.",
            [({"status": status}, outbox.get(status, 0)) for status in states],
        )
    )
    figures.append(
        (
            "api_calls_total",
            "counter",
            "Platform API calls made for each account (all daemons together).",
            [
                ({"account": name}, calls or 0)
                for name, calls in session.execute(select(Account.name, Account.api_calls).order_by(Account.name)).all()
            ],
        )
    )
    figures.append(
        (
            "account_healthy",
            "gauge",
            "1 when an account polls normally, 0 when backing off, rate-limited or waiting for re-authorisation.",
            [
                ({"account": name}, 1 if health == "ok" else 0)
                for name, health in session.execute(select(Account.name, Account.health).order_by(Account.name)).all()
            ],
        )
    )
    figures.extend(_sla_figures(session))
    figures.append(
        (
            "incidents_open",
            "gauge",
            "Incidents (spikes in the stream) open now, by severity.",
            [({"severity": severity}, n) for severity, n in incidents.counts_by_severity(session).items()],
        )
    )
    return figures


def _sla_figures(session) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    raised = dict(session.execute(select(SlaAlert.kind, func.count(SlaAlert.id)).group_by(SlaAlert.kind)).all())
    still_running = or_(
        and_(SlaAlert.clock == sla.FIRST_RESPONSE, Case.first_response_at.is_(None)),
        and_(SlaAlert.clock == sla.RESOLUTION, Case.resolved_at.is_(None)),
    )
    open_now = dict(
        session.execute(
            select(SlaAlert.kind, func.count(SlaAlert.id))
            .join(Case, SlaAlert.case_id == Case.id)
            .where(
                Case.state.not_in(FINISHED_STATES),
                SlaAlert.cycle == Case.reopen_count,
                still_running,
            )
            .group_by(SlaAlert.kind)
        ).all()
    )
    kinds = ("warning", "breach", "maximum")
    return [
        (
            "sla_alerts_total",
            "counter",
            "SLA warnings and breaches raised so far, by kind.",
            [({"kind": kind}, raised.get(kind, 0)) for kind in kinds],
        ),
        (
            "sla_alerts_open",
            "gauge",
            "SLA warnings and breaches whose clock is still running, by kind.",
            [({"kind": kind}, open_now.get(kind, 0)) for kind in kinds],
        ),
    ]


def render_metrics(service) -> str:
    """Every metric in Prometheus' text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(service))
    registry.register(STEP_SECONDS)
    ProcessCollector(registry=registry, namespace="mention_desk")
    PlatformCollector(registry=registry)
    return generate_latest(registry).decode()


def health_report(service) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for /healthz: 200 when the database answers, 503 when it does not."""
    daemon = _daemon if _daemon is not None and _daemon.service is service else None
    body: dict[str, Any] = {"status": "ok", "worker": service.claimant, "database": "ok"}
    try:
        with transaction(service.factory) as session:
            session.execute(select(1))
    except Exception as error:  # noqa: BLE001 - reported, not raised
        body["status"] = "unavailable"
        body["database"] = classify(error) or "error"
    if daemon is not None:
        body["leases"] = {name: daemon.leases.holds(name) for name in daemon.leases.wanted}
        if daemon.watch.problem:
            body["status"] = "degraded" if body["status"] == "ok" else body["status"]
            body["database"] = daemon.watch.problem
        reloader = getattr(daemon, "reloader", None)
        if reloader is not None:
            body["config"] = reloader.report()
    return (200 if body["database"] == "ok" else 503), body


def build_router(service):
    """A FastAPI router with /healthz and /metrics, for the console app."""
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse, PlainTextResponse

    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        status, body = health_report(service)
        return JSONResponse(body, status_code=status)

    @router.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(render_metrics(service), media_type=CONTENT_TYPE)

    return router


class HealthServer:
    """/healthz and /metrics on their own port (when the daemon does not serve the console), in a thread."""

    def __init__(self, service, host: str, port: int):
        self.service = service
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                log.debug("health server: " + format, *args)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    status, body, kind = 200, render_metrics(owner.service).encode(), CONTENT_TYPE
                elif path == "/healthz":
                    status, report = health_report(owner.service)
                    body, kind = json.dumps(report).encode(), "application/json"
                else:
                    status, body, kind = 404, b"not found: try /healthz or /metrics\n", "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it answers."""
        host, port = self.server.socket.getsockname()[:2]  # the server_address bind stored, with a str host
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)
        self.thread.start()
        log.info("health and metrics at %s/healthz and %s/metrics", self.url, self.url)

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)
