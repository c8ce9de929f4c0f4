"""Delivery: each notification reaches each channel that takes it once, across restarts, retried, within its rate."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from bot.notifications import delivery, events
from bot.runtime import health
from bot.runtime.daemon import Daemon
from bot.runtime.service import Service
from bot.runtime.status_report import collect
from bot.storage.models import AuditEntry, NotificationDelivery
from tests.harness import Desk


def desk_with(tmp_path, database_url, *channels, **settings) -> Desk:
    return Desk(tmp_path, database_url, notifications={"channels": list(channels), **settings})


def raise_one(desk, key="incident-1", event=events.INCIDENT_OPENED, recipient=None, subject="Spike of mentions"):
    with desk.session() as session:
        events.notify(
            session, desk.clock.now(), event, key, subject, "42 mentions about outages in 10 min", recipient=recipient
        )


def deliveries(desk) -> list[tuple[str, str, int]]:
    with desk.session() as session:
        rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))
        return [(d.channel, d.status, d.attempts) for d in rows]


def audit_of(desk) -> list[tuple[str, int, str]]:
    with desk.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "notification").order_by(AuditEntry.id)
        )
        return [(a.action, a.object_id, a.detail["channel"]) for a in rows]


def test_a_notification_reaches_email_and_a_webhook_exactly_once_across_a_restart(
    tmp_path, database_url, smtp_server, webhook_receiver, monkeypatch
):
    mailbox, smtp_port = smtp_server
    hook, hook_address = webhook_receiver
    monkeypatch.setenv("DESK_HOOK_TOKEN", "s3cr3t-token")
    desk = desk_with(
        tmp_path,
        database_url,
        {
            "name": "email",
            "url": f"mailto://127.0.0.1:{smtp_port}?mode=insecure&from=desk@example.com&to=team@example.com",
        },
        {"name": "ops-hook", "url": f"json://{hook_address}/hooks/${{DESK_HOOK_TOKEN}}"},
    )
    try:
        raise_one(desk)
        first = delivery.run(desk.service)
        desk.restart()
        second = delivery.run(desk.service)
        desk.restart()
        raise_one(desk)  # the same key again: still one notification
        third = delivery.run(desk.service)

        assert (first.routed, first.sent) == (2, 2)
        assert (second.routed, second.sent, third.routed, third.sent) == (0, 0, 0, 0)
        assert mailbox.subjects() == ["Spike of mentions"]
        [(to, mail)] = mailbox.messages
        assert to == ["team@example.com"] and "42 mentions about outages" in mailbox.text(mail)
        assert [(h["path"], h["title"], h["message"]) for h in hook.received] == [
            ("/hooks/s3cr3t-token", "Spike of mentions", "42 mentions about outages in 10 min")
        ]
        assert deliveries(desk) == [("email", "sent", 1), ("ops-hook", "sent", 1)]
    finally:
        desk.service.engine.dispose()


def test_a_failed_send_is_retried_later_and_arrives_once(tmp_path, database_url, webhook_receiver):
    hook, hook_address = webhook_receiver
    hook.statuses.append(500)
    desk = desk_with(tmp_path, database_url, {"name": "ops-hook", "url": f"json://{hook_address}/hook"})
    try:
        raise_one(desk)
        assert delivery.run(desk.service).failed == 1
        with desk.session() as session:
            [row] = session.scalars(select(NotificationDelivery))
            assert (row.status, row.attempts) == ("pending", 1)
            assert "500" in row.last_error
            wait = (row.next_attempt_at - desk.clock.now()).total_seconds()
        assert 0.8 * 30 <= wait <= 30  # notifications.retry_base_seconds, with jitter
        assert delivery.run(desk.service).sent == 0  # not due yet
        desk.clock.advance(seconds=31)
        desk.restart()
        assert delivery.run(desk.service).sent == 1
        desk.clock.advance(minutes=5)
        delivery.run(desk.service)

        assert [h["status"] for h in hook.received] == [500, 200]
        assert deliveries(desk) == [("ops-hook", "sent", 2)]
        assert [action for action, _id, _channel in audit_of(desk)] == ["notification_retry", "notification_sent"]
    finally:
        desk.service.engine.dispose()


def test_a_channel_over_its_rate_waits_its_turn_and_none_is_dropped(tmp_path, database_url, webhook_receiver):
    hook, hook_address = webhook_receiver
    desk = desk_with(
        tmp_path,
        database_url,
        {"name": "slow", "url": f"json://{hook_address}/slow", "max_per_minute": 2},
        {"name": "fast", "url": f"json://{hook_address}/fast"},
    )
    try:
        for n in range(5):
            raise_one(desk, key=f"incident-{n}", subject=f"incident {n}")
        first = delivery.run(desk.service)
        assert (first.sent, first.waiting) == (7, 3)  # all five to 'fast', two to 'slow'
        desk.clock.advance(seconds=30)
        assert delivery.run(desk.service).sent == 0  # still the same minute for 'slow'
        desk.clock.advance(seconds=31)
        assert delivery.run(desk.service).sent == 2
        desk.clock.advance(seconds=61)
        assert delivery.run(desk.service).sent == 1

        slow = [h["title"] for h in hook.received if h["path"] == "/slow"]
        assert slow == [f"incident {n}" for n in range(5)]
        assert len([h for h in hook.received if h["path"] == "/fast"]) == 5
    finally:
        desk.service.engine.dispose()


def test_a_person_gets_their_own_notifications_at_their_own_address(tmp_path, database_url, smtp_server):
    mailbox, port = smtp_server
    mail = f"mailto://127.0.0.1:{port}?mode=insecure&from=desk@example.com"
    desk = desk_with(
        tmp_path,
        database_url,
        {
            "name": "email",
            "users": {"alex": f"{mail}&to=alex@example.com", "maria": f"{mail}&to=maria@example.com"},
            "events": ["note_mention", "case_assigned"],
        },
    )
    try:
        raise_one(desk, "note-1", events.NOTE_MENTION, "maria", "alex mentioned you on case #3")
        raise_one(desk, "note-2", events.NOTE_MENTION, "juan", "alex mentioned juan on case #3")  # no address
        raise_one(desk, "incident-1")  # not an event of this channel
        assert delivery.run(desk.service).sent == 1
        assert [(to, m["Subject"]) for to, m in mailbox.messages] == [
            (["maria@example.com"], "alex mentioned you on case #3")
        ]
        assert deliveries(desk) == [("email", "sent", 1)]
    finally:
        desk.service.engine.dispose()


def test_a_channel_that_keeps_failing_gives_up_and_status_says_so(tmp_path, database_url, webhook_receiver):
    hook, hook_address = webhook_receiver
    hook.statuses.extend([503, 503])
    desk = desk_with(
        tmp_path, database_url, {"name": "ops-hook", "url": f"json://{hook_address}/hook", "max_attempts": 2}
    )
    try:
        raise_one(desk)
        for _ in range(4):
            delivery.run(desk.service)
            desk.clock.advance(minutes=10)
        assert len(hook.received) == 2
        assert deliveries(desk) == [("ops-hook", "failed", 2)]
        assert [action for action, _id, _channel in audit_of(desk)] == ["notification_retry", "notification_failed"]
        assert "1 notification(s) could not be delivered to ops-hook" in " ".join(collect(desk.service)["alerts"])
    finally:
        desk.service.engine.dispose()


def test_an_error_never_shows_the_secret_from_the_environment(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("DESK_HOOK_PASSWORD", "hunter2-very-secret")
    desk = desk_with(tmp_path, database_url, {"name": "down", "url": "json://desk:${DESK_HOOK_PASSWORD}@127.0.0.1:9/x"})
    try:
        raise_one(desk)
        delivery.run(desk.service)
        with desk.session() as session:
            [row] = session.scalars(select(NotificationDelivery))
            entries = list(session.scalars(select(AuditEntry)))
        assert row.status == "pending" and row.last_error
        assert "hunter2" not in row.last_error and not any("hunter2" in str(e.detail) for e in entries)
    finally:
        desk.service.engine.dispose()


def test_the_running_daemon_sends_notifications_on_its_own(tmp_path, database_url, webhook_receiver):
    hook, hook_address = webhook_receiver
    desk = desk_with(
        tmp_path, database_url, {"name": "ops-hook", "url": f"json://{hook_address}/hook"}, interval_seconds=0.5
    )
    daemon = Daemon(desk.service)
    try:
        daemon.start()
        assert {"notifications", "silent_accounts"} <= {job.id for job in daemon.scheduler.get_jobs()}
        raise_one(desk)
        deadline = time.monotonic() + 30
        while health.METRICS.value("notifications_sent_total") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [h["title"] for h in hook.received] == ["Spike of mentions"]
        assert health.METRICS.value("notifications_sent_total") >= 1
    finally:
        daemon.stop()
        desk.service.engine.dispose()


def test_a_send_cut_off_by_a_dying_daemon_is_not_sent_again_and_status_says_so(
    tmp_path, database_url, webhook_receiver
):
    hook, hook_address = webhook_receiver
    desk = desk_with(tmp_path, database_url, {"name": "ops-hook", "url": f"json://{hook_address}/hook"})
    try:
        raise_one(desk)
        [channel] = desk.config.notifications.channels
        with desk.session() as session:
            delivery.route(session, desk.config, desk.clock.now())
            [claimed] = delivery.claim(session, channel, "daemon@dead:1", desk.clock.now(), 60, 10)
        desk.clock.advance(minutes=5)  # its claim has expired: it may have sent it, or not
        desk.restart()
        assert delivery.run(desk.service).sent == 0
        assert hook.received == []
        assert deliveries(desk) == [("ops-hook", "sending", 1)]
        assert "1 notification(s) to ops-hook were being sent when a daemon stopped" in " ".join(
            collect(desk.service)["alerts"]
        )
        assert claimed.subject == "Spike of mentions"
    finally:
        desk.service.engine.dispose()


def test_two_daemons_on_one_database_send_each_notification_once(tmp_path, database_url, webhook_receiver):
    hook, hook_address = webhook_receiver
    desk = desk_with(tmp_path, database_url, {"name": "ops-hook", "url": f"json://{hook_address}/hook"})
    other = Service(desk.config, clock=desk.clock, worker="second")
    try:
        for n in range(4):
            raise_one(desk, key=f"incident-{n}", subject=f"incident {n}")
        with ThreadPoolExecutor(2) as pool:
            rounds = [f.result() for f in [pool.submit(delivery.run, s) for s in (desk.service, other)]]
        assert sum(r.sent for r in rounds) == 4
        assert sorted(h["title"] for h in hook.received) == [f"incident {n}" for n in range(4)]
        assert deliveries(desk) == [("ops-hook", "sent", 1)] * 4
    finally:
        other.engine.dispose()
        desk.service.engine.dispose()
