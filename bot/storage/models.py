"""The database tables, as SQLAlchemy ORM classes; times are naive UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.storage.statuses import AlertDelivery, DraftStatus, MentionStatus, OutboxStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table, with constraint names that are the same on SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    """A platform credential the service listens on and answers from, with its cursor and health."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    handle: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(100))
    credentials_env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials_fingerprint: Mapped[str | None] = mapped_column(String(64))
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    health: Mapped[str] = mapped_column(String(20), default="ok")
    health_detail: Mapped[str | None] = mapped_column(Text)
    rate_limited_until: Mapped[datetime | None] = mapped_column(DateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_auth_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Customer(Base):
    """A person who writes to the brand, possibly under several platform identities."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class Identity(Base):
    """One platform user id belonging to a customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[str] = mapped_column(String(100))
    handle: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    followers: Mapped[int | None] = mapped_column(Integer)
    # The platform's verified badge, where the listener reads it (None: not known).
    verified: Mapped[bool | None] = mapped_column(Boolean)
    customer: Mapped[Customer] = relationship(back_populates="identities")


class Case(Base):
    """A customer's thread with the brand, its state, owner and SLA clocks."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_thread", "platform", "thread_key"),
        Index("ix_cases_state", "state"),
        # Covering indexes for the KPIs: they read these columns without touching the rows.
        Index(
            "ix_cases_opened",
            "opened_at",
            "level",
            "first_response_due_at",
            "first_response_at",
            "resolution_due_at",
            "resolved_at",
            "paused_seconds",
        ),
        Index("ix_cases_resolved", "resolved_at", "closed_at"),
        Index("ix_cases_updated", "updated_at"),
        # Agents' loads: open cases per owner, counted at every assignment.
        Index("ix_cases_owner_state", "owner_id", "state"),
        Index("ix_cases_first_response_due", "first_response_due_at"),
        Index("ix_cases_first_response_breach", "first_response_breach_at"),
        Index("ix_cases_resolution_due", "resolution_due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    thread_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(30), default="new")
    level: Mapped[str] = mapped_column(String(20), default="monitor")
    category: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(10))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_response_breach_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    monitor_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    no_reply_at: Mapped[datetime | None] = mapped_column(DateTime)
    no_reply_reason: Mapped[str | None] = mapped_column(Text)
    # Raised whenever the thread gets a customer's message or a reply is sent: an approval checks it has not moved.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # "I'm on it": who took the case by hand, until when (others see it; it expires).
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    # A case merged into another keeps its row, closed, pointing at the case that carries its thread.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    mentions: Mapped[list[Mention]] = relationship(back_populates="case", order_by="Mention.id")
    drafts: Mapped[list[Draft]] = relationship(back_populates="case", order_by="Draft.id")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class CaseEvent(Base):
    """One change of a case's state, owner or level: its history."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    case: Mapped[Case] = relationship(back_populates="events")


class Mention(Base):
    """A message someone wrote, stored once per platform id with its raw payload."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("platform", "platform_id"),
        Index("ix_mentions_thread", "platform", "thread_key"),
        Index("ix_mentions_created", "created_at"),
        Index("ix_mentions_case_channel", "case_id", "channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(100))
    thread_key: Mapped[str] = mapped_column(String(200))
    in_reply_to_id: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10), default="public")
    stream: Mapped[str | None] = mapped_column(String(30))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    lang_hint: Mapped[str | None] = mapped_column(String(10))
    addressed_to_brand: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=MentionStatus.NEW, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Hidden on the platform by a rule or a person (where the platform allows it), and by whom.
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_by: Mapped[str | None] = mapped_column(String(100))
    case: Mapped[Case | None] = relationship(back_populates="mentions")
    identity: Mapped[Identity] = relationship()
    triage: Mapped[TriageResult | None] = relationship(back_populates="mention", uselist=False)


class TriageResult(Base):
    """What the classifier and the rules decided about one mention, and why."""

    __tablename__ = "triage_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), unique=True)
    language: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(20))
    sentiment: Mapped[str] = mapped_column(String(10))
    needs_response: Mapped[bool] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    priority: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    confidences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[str] = mapped_column(String(100))
    corrected_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    mention: Mapped[Mention] = relationship(back_populates="triage")


class Draft(Base):
    """A reply waiting for, or past, a person's decision."""

    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_queue", "status", "priority"),
        Index("ix_drafts_decided", "auto_approved", "decided_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DraftStatus.PENDING)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    eta_minutes: Mapped[int | None] = mapped_column(Integer)
    eta_explanation: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[Any]] = mapped_column(default=list)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # Raised at every edit of the text: an approval of what a person saw checks nobody changed it since.
    version: Mapped[int] = mapped_column(Integer, default=0)
    case: Mapped[Case] = relationship(back_populates="drafts")
    mention: Mapped[Mention | None] = relationship()
    outbox: Mapped[OutboxMessage | None] = relationship(back_populates="draft", uselist=False)


class OutboxMessage(Base):
    """An approved reply on its way to a platform: sent once, retried on transient errors, never twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"), Index("ix_outbox_target", "target_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(100))
    recipient_id: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_post_id: Mapped[str | None] = mapped_column(String(100))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    draft: Mapped[Draft] = relationship(back_populates="outbox")


class Lease(Base):
    """Who runs a singleton job (polling an account, SLA checks) until when; renewed by its holder, taken over after."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who did what, when: every approval, edit, rejection, send and setting change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    """A person who uses the console: agent, approver or admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str | None] = mapped_column(Text)
    api_token_hash: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    on_shift: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SlaAlert(Base):
    """A warning or breach of one SLA clock of a case, raised once per clock cycle and posted once."""

    __tablename__ = "sla_alerts"
    __table_args__ = (UniqueConstraint("case_id", "clock", "kind", "cycle"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    clock: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    fired_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    message: Mapped[str] = mapped_column(Text)
    webhook_status: Mapped[str] = mapped_column(String(20), default=AlertDelivery.NONE)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    webhook_error: Mapped[str | None] = mapped_column(Text)
    case: Mapped[Case] = relationship()


class EtaPromise(Base):
    """A response time promised in a sent acknowledgement, and whether it was kept."""

    __tablename__ = "eta_promises"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    promised_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(10), default="open")
    kept_at: Mapped[datetime | None] = mapped_column(DateTime)
    measured_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReplyScore(Base):
    """An approver's scores for one sent reply against the evaluation rubric."""

    __tablename__ = "reply_scores"
    __table_args__ = (UniqueConstraint("draft_id", "scorer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    scorer: Mapped[str] = mapped_column(String(100))
    agent: Mapped[str | None] = mapped_column(String(100), index=True)
    template: Mapped[str] = mapped_column(String(200))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ConsoleSession(Base):
    """A logged-in console session; the cookie holds a random token, the table only its hash."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class KpiVolume(Base):
    """Triaged mentions per day, platform, category, sentiment, level and language: a rollup for a fast KPI page."""

    __tablename__ = "kpi_volume"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(10), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    language: Mapped[str] = mapped_column(String(10), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)


class KpiWatermark(Base):
    """How far a KPI rollup has counted (the last triage result id it includes)."""

    __tablename__ = "kpi_watermarks"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)


class LabelledExample(Base):
    """A labelled text recorded from what a person did, for the classifier to learn from."""

    __tablename__ = "labelled_examples"
    id: Mapped[int] = mapped_column(primary_key=True)
    head: Mapped[str] = mapped_column(String(50), index=True)
    label: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(30))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Presence(Base):
    """Who has a case or a draft open in the console right now, and whether they are typing in it."""

    __tablename__ = "presence"
    __table_args__ = (
        UniqueConstraint("user_id", "object_type", "object_id"),
        Index("ix_presence_object", "object_type", "object_id", "seen_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    editing: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class CaseNote(Base):
    """An internal note on a case: for the team only, never sent to the customer."""

    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    mentioned: Mapped[list[NoteMention]] = relationship(back_populates="note", order_by="NoteMention.id")


class NoteMention(Base):
    """A user @mentioned in a note; shows in their inbox until they read it."""

    __tablename__ = "note_mentions"
    __table_args__ = (UniqueConstraint("note_id", "user_id"), Index("ix_note_mentions_inbox", "user_id", "read_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("case_notes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[CaseNote] = relationship(back_populates="mentioned")
    user: Mapped[User] = relationship()


class CaseTag(Base):
    """A free tag on a case, added by a person, a macro or a rule."""

    __tablename__ = "case_tags"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime)


class Macro(Base):
    """A saved reply, per language, rendered like the templates; it may also tag, assign or resolve."""

    __tablename__ = "macros"
    __table_args__ = (UniqueConstraint("name", "language"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Notification(Base):
    """Something people must hear of where they are (a breach, an incident, an @mention), raised once per key."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    recipient: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # When its deliveries were made, one per channel that takes it; null while it waits for the next round.
    routed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    deliveries: Mapped[list[NotificationDelivery]] = relationship(
        back_populates="notification", order_by="NotificationDelivery.id"
    )


class NotificationDelivery(Base):
    """One notification on its way to one channel: claimed before sending, retried, sent once."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class MentionBucket(Base):
    """Triaged mentions per time bucket, brand and topic (a keyword; '' for all), with the counts spikes are read
    from: the early warning's rollup, so each detection run reads a few hundred rows rather than the mentions."""

    __tablename__ = "mention_buckets"
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    brand: Mapped[str] = mapped_column(String(100), primary_key=True)
    topic: Mapped[str] = mapped_column(String(60), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    outage: Mapped[int] = mapped_column(Integer, default=0)
    churn_risk: Mapped[int] = mapped_column(Integer, default=0)
    spam: Mapped[int] = mapped_column(Integer, default=0)


class MentionBucketWatermark(Base):
    """How far the mention buckets have counted: the last triage result id they include."""

    __tablename__ = "mention_bucket_watermarks"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class Incident(Base):
    """A spike in the stream: its topic, the metric that rose, from when, its peak and, once normal again, its end."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_state", "state", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    brand: Mapped[str] = mapped_column(String(100))
    topic_key: Mapped[str] = mapped_column(String(60))
    topic_name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default="open")
    started_at: Mapped[datetime] = mapped_column(DateTime)
    detected_at: Mapped[datetime] = mapped_column(DateTime)
    peak_at: Mapped[datetime] = mapped_column(DateTime)
    peak_value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[float] = mapped_column(Float)
    last_above_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    examples: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cases: Mapped[list[IncidentCase]] = relationship(back_populates="incident", order_by="IncidentCase.case_id")


class IncidentCase(Base):
    """A case that belongs to an incident: how much its priority was raised, whether the acknowledgement was drafted."""

    __tablename__ = "incident_cases"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_raised: Mapped[float] = mapped_column(Float, default=0.0)
    incident: Mapped[Incident] = relationship(back_populates="cases")
    case: Mapped[Case] = relationship()
