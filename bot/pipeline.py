"""The pipeline after storage: triage each new mention, put it in its case, draft its replies."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot import approval, assignment, cases, claims
from bot.clock import Clock
from bot.config import Config
from bot.db import transaction
from bot.drafting import TemplateRenderer, draft_for_mention
from bot.models import Mention, TriageResult
from bot.triage import Triage, TriageInput, Triager

log = logging.getLogger(__name__)


@dataclass
class ProcessResult:
    """What one pipeline run did."""

    triaged: int = 0
    drafts: int = 0
    reopened: int = 0
    failed: int = 0


def triage_input(mention: Mention) -> TriageInput:
    """A stored mention as the classifier's input."""
    identity = mention.identity
    return TriageInput(id=str(mention.id), text=mention.text, platform=mention.platform,
                       author=identity.handle, author_followers=identity.followers,
                       addressed_to_brand=mention.addressed_to_brand, channel=mention.channel,
                       lang=mention.lang_hint, created_at=mention.created_at)


def store_triage(session: Session, mention: Mention, triage: Triage, now) -> TriageResult:
    """Save a triage decision for a mention."""
    result = TriageResult(mention=mention, language=triage.language, category=triage.category,
                          sentiment=triage.sentiment, needs_response=triage.needs_response, mode=triage.mode,
                          level=triage.level, priority=triage.priority, confidence=triage.confidence,
                          confidences=triage.confidences, low_confidence=triage.low_confidence,
                          reasons=triage.reasons, labels=triage.labels, model=triage.model, created_at=now)
    session.add(result)
    return result


class Pipeline:
    """Takes stored mentions with status 'new' through triage, cases and drafting."""

    def __init__(self, factory: sessionmaker[Session], config: Config, triager: Triager, renderer: TemplateRenderer,
                 clock: Clock, batch_size: int = 64, claimant: str | None = None,
                 claim_seconds: float = claims.DEFAULT_CLAIM_SECONDS):
        self.factory = factory
        self.config = config
        self.triager = triager
        self.renderer = renderer
        self.clock = clock
        self.batch_size = batch_size
        self.claimant = claimant or claims.default_claimant("pipeline")
        self.claim_seconds = claim_seconds

    def run(self) -> ProcessResult:
        """Process every pending mention, batch by batch."""
        total = ProcessResult()
        while True:
            result, count = self._batch()
            for field in ("triaged", "drafts", "reopened", "failed"):
                setattr(total, field, getattr(total, field) + getattr(result, field))
            if count < self.batch_size:
                return total

    def _batch(self) -> tuple[ProcessResult, int]:
        result = ProcessResult()
        now = self.clock.now()
        with transaction(self.factory) as session:
            ids = claims.claim_mentions(session, self.claimant, now, self.claim_seconds, self.batch_size)
        if not ids:
            return result, 0
        with transaction(self.factory) as session:
            mentions = [session.get(Mention, i) for i in ids]
            try:
                decisions = self.triager.triage([triage_input(m) for m in mentions], now=now)
            except Exception:
                log.exception("triage of a batch failed; trying its mentions one by one")
                decisions = [None] * len(mentions)
        for mention_id, decision in zip(ids, decisions):
            self._one(mention_id, decision, result)
        return result, len(ids)

    def _one(self, mention_id: int, decision: Triage | None, result: ProcessResult) -> None:
        now = self.clock.now()
        try:
            with transaction(self.factory) as session:
                mention = session.get(Mention, mention_id)
                claims.lock_thread(session, mention.platform, mention.thread_key)
                if decision is None:
                    decision = self.triager.triage([triage_input(mention)], now=now)[0]
                triage = store_triage(session, mention, decision, now)
                case, reopened = cases.attach(session, mention, triage, self.config.sla, now)
                session.flush()
                drafts = draft_for_mention(session, self.config, self.renderer, case, mention, now)
                session.flush()
                cases.after_drafting(session, case, bool(drafts), now)
                assignment.assign(session, self.config, case, now)
                for draft in drafts:
                    approval.maybe_auto_approve(session, self.config, draft, now)
                claims.finish_mention(session, mention_id, self.claimant, "processed")
                result.triaged += 1
                result.drafts += len(drafts)
                result.reopened += int(reopened)
        except claims.ClaimLost as exc:
            log.warning("%s; its result here is discarded", exc)
        except Exception as exc:
            log.exception("mention %s could not be processed; it is kept with status 'failed'", mention_id)
            try:
                with transaction(self.factory) as session:
                    claims.finish_mention(session, mention_id, self.claimant, "failed",
                                          error=f"{type(exc).__name__}: {exc}"[:2000])
            except claims.ClaimLost:
                return
            result.failed += 1
