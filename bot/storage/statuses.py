"""The statuses stored on mentions, drafts, outbox messages, SLA alerts and notifications, each named once."""

from __future__ import annotations

from enum import StrEnum


class MentionStatus(StrEnum):
    """Where a stored mention is in the pipeline."""

    NEW = "new"  # stored, waiting for triage
    PROCESSED = "processed"  # triaged, in its case, drafted or decided
    FAILED = "failed"  # the pipeline could not take it (the error is kept; it is retried)


class DraftStatus(StrEnum):
    """What became of a drafted reply."""

    PENDING = "pending"  # waiting for a person
    APPROVED = "approved"  # in the outbox
    REJECTED = "rejected"
    SENT = "sent"
    BLOCKED = "blocked"  # the platform's rules refused it: a person sends it by hand
    SUPERSEDED = "superseded"  # a newer message in the thread replaced it
    FAILED = "failed"  # sending gave up after its attempts


class OutboxStatus(StrEnum):
    """Where an approved reply is on its way to the platform."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a daemon, maybe on the platform already
    SENT = "sent"
    UNKNOWN = "unknown"  # the platform's answer was lost: reconcile before any retry
    FAILED = "failed"
    BLOCKED = "blocked"


# An outbox message in one of these states may already be on the platform.
MAY_BE_POSTED = (OutboxStatus.SENT, OutboxStatus.SENDING, OutboxStatus.UNKNOWN)


class AlertDelivery(StrEnum):
    """Where an SLA alert is on its way to the alert webhook."""

    NONE = "none"  # no webhook configured
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationStatus(StrEnum):
    """Where a notification is on its way to one channel."""

    PENDING = "pending"  # waiting for its turn (new, retried after a failure, or over the channel's rate)
    SENDING = "sending"  # claimed by a daemon, maybe delivered already: never sent again
    SENT = "sent"
    FAILED = "failed"  # gave up after the channel's max_attempts


class CaseState(StrEnum):
    """Where a case is, from the first message to its close (bot/casework/cases.py moves it)."""

    NEW = "new"
    MONITORING = "monitoring"  # watched, no answer needed
    AWAITING_APPROVAL = "awaiting_approval"
    ANSWERED_PUBLIC = "answered_public"
    MOVED_PRIVATE = "moved_private"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED_PUBLIC = "closed_public"
    MERGED = "merged"  # absorbed into another case of the same customer (merged_into_id)


# Cases with nothing left to do; idle ones also need no person; stopped ones also run no SLA clock.
FINISHED_STATES = (CaseState.RESOLVED, CaseState.CLOSED_PUBLIC, CaseState.MERGED)
IDLE_STATES = (*FINISHED_STATES, CaseState.MONITORING)
CLOCK_STOPPED_STATES = (*IDLE_STATES, CaseState.WAITING_ON_CUSTOMER)
