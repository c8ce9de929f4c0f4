"""The daemon's early-warning step: one detection run in one transaction, under the job's lease."""

from __future__ import annotations

import logging

from bot.early_warning.incidents import Outcome, detect
from bot.storage.db import transaction

log = logging.getLogger(__name__)


def run(service) -> Outcome:
    """Roll up new mentions, look for spikes, open, grow and end incidents (the daemon calls it every interval)."""
    if not service.config.early_warning.enabled:
        return Outcome()
    now = service.clock.now()
    with transaction(service.factory) as session:
        outcome = detect(session, service.config, service.renderer, now)
    if outcome.opened or outcome.ended:
        log.info(
            "early warning: %d incident(s) opened, %d ended, %d case(s) taken in",
            len(outcome.opened),
            len(outcome.ended),
            outcome.linked,
        )
    return outcome
