"""The pipeline after storage: triage each new mention, put it in its case, draft its replies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.casework import approval, cases, moderation, rules
from bot.casework.drafting import TemplateRenderer, draft_for_mention, wants_reply
from bot.clock import Clock
from bot.config import Config
from bot.coordination import claims
from bot.service_levels import assignment, eta
from bot.storage import db_faults as faults
from bot.storage.db import transaction
from bot.storage.models import Account, Case, Draft, Identity, Mention, TriageResult
from bot.storage.statuses import MentionStatus
from bot.triage.decision import Triage, TriageInput, Triager
from responders.base import Responder

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
    return TriageInput(
        id=str(mention.id),
        text=mention.text,
        platform=mention.platform,
        author=identity.handle,
        author_followers=identity.followers,
        addressed_to_brand=mention.addressed_to_brand,
        channel=mention.channel,
        lang=mention.lang_hint,
        created_at=mention.created_at,
    )


def store_triage(session: Session, mention: Mention, triage: Triage, now) -> TriageResult:
    """Save a triage decision for a mention."""
    result = TriageResult(
        mention=mention,
        language=triage.language,
        category=triage.category,
        sentiment=triage.sentiment,
        needs_response=triage.needs_response,
        mode=triage.mode,
        level=triage.level,
        priority=triage.priority,
        confidence=triage.confidence,
        confidences=triage.confidences,
        low_confidence=triage.low_confidence,
        reasons=triage.reasons,
        labels=triage.labels,
        model=triage.model,
        created_at=now,
    )
    session.add(result)
    return result


class Pipeline:
    """Takes stored mentions with status 'new' through triage, cases and drafting."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        config: Config,
        triager: Triager,
        renderer: TemplateRenderer,
        clock: Clock,
        batch_size: int = 64,
        claimant: str | None = None,
        claim_seconds: float = claims.DEFAULT_CLAIM_SECONDS,
        responder_for: Callable[[str], Responder] | None = None,
    ):
        self.factory = factory
        self.responder_for = responder_for  # the platforms a rule's hide goes to, by account name
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
        now = self.clock.now()
        with transaction(self.factory) as session:
            ids = claims.claim_mentions(session, self.claimant, now, self.claim_seconds, self.batch_size)
        if not ids:
            return ProcessResult(), 0
        decisions: dict[int, Triage] = {}
        hides: list[tuple[int, str]] = []
        try:
            with transaction(self.factory) as session:
                result = self._together(session, ids, decisions, now, hides)
            self._hide(hides, now)
            return result, len(ids)
        except Exception as exc:
            if faults.classify(exc) is not None:
                raise  # the database is in trouble: the daemon waits, and the claims expire or are retried
            if not isinstance(exc, claims.ClaimLost):
                log.warning(
                    "a batch of %d mentions failed together (%s: %s); processing them one by one",
                    len(ids),
                    type(exc).__name__,
                    exc,
                )
        result = ProcessResult()
        for mention_id in ids:
            self._one(mention_id, decisions.get(mention_id), result)
        return result, len(ids)

    def _together(
        self, session: Session, ids: list[int], decisions: dict[int, Triage], now, hides: list[tuple[int, str]]
    ) -> ProcessResult:
        """The whole batch in one transaction: a few statements per batch rather than a few dozen per mention."""
        result = ProcessResult()
        held = claims.hold_mentions(session, ids, self.claimant)
        for mention_id in set(ids) - set(held):
            log.warning("mention %s was taken over by another daemon; its result here is discarded", mention_id)
        loaded = {
            m.id: m
            for m in session.scalars(
                select(Mention)
                .where(Mention.id.in_(held))
                .options(selectinload(Mention.identity).selectinload(Identity.customer), selectinload(Mention.triage))
            )
        }
        mentions = [loaded[i] for i in held]
        decisions.update(zip(held, self.triager.triage([triage_input(m) for m in mentions], now=now), strict=True))
        accounts = list(session.scalars(select(Account)))  # kept referenced, so the policy checks find them in memory
        roster = assignment.Roster(session, self.config, now)
        placed = self._place(session, mentions, decisions, roster, result, now, hides)
        self._answer(session, placed, roster, result, now)
        claims.finish_mentions(session, held, self.claimant, MentionStatus.PROCESSED)
        result.triaged = len(held)
        del accounts
        return result

    def _place(
        self,
        session: Session,
        mentions: list[Mention],
        decisions: dict[int, Triage],
        roster: assignment.Roster,
        result: ProcessResult,
        now,
        hides: list[tuple[int, str]],
    ) -> list[tuple[Mention, Case]]:
        """Store each mention's triage, put it in its case and run the rules; one flush then writes them all."""
        threads = {(m.platform, m.thread_key) for m in mentions}
        claims.lock_threads(session, list(threads))
        known = cases.latest_cases(session, threads)
        for case in known.values():
            roster.note(case)
        placed: list[tuple[Mention, Case]] = []
        for mention in mentions:
            triage = store_triage(session, mention, decisions[mention.id], now)
            open_case = known.get((mention.platform, mention.thread_key))
            if open_case is None and mention.channel == "private":
                open_case = cases.find_open_thread(session, mention)
                if open_case is not None:
                    roster.note(open_case)
            case, reopened = cases.attach_to(session, open_case, mention, triage, self.config.sla, now)
            self._rules(session, case, mention, triage, now, hides)
            known[(mention.platform, mention.thread_key)] = case
            placed.append((mention, case))
            result.reopened += int(reopened)
        # Cases with nothing to answer in this batch are only monitored; settled before the queue is counted.
        answered = {id(case) for mention, case in placed if wants_reply(mention)}
        for _mention, case in placed:
            if id(case) not in answered:
                cases.after_drafting(session, case, False, now)
                assignment.assign(session, self.config, case, now, roster=roster)
        session.flush()
        return [(mention, case) for mention, case in placed if id(case) in answered]

    def _answer(
        self,
        session: Session,
        placed: list[tuple[Mention, Case]],
        roster: assignment.Roster,
        result: ProcessResult,
        now,
    ) -> None:
        """Draft the replies of the cases that need one, assign them, and approve what the config lets through."""
        team = eta.staffing(session, self.config, now)
        automatic: list[Draft] = []  # auto-approvable drafts, approved after one flush gives them their ids
        for mention, case in placed:
            if any(draft.case is case for draft in automatic):  # approve them before a newer message supersedes them
                self._auto_approve(session, automatic, now)
            with session.no_autoflush:  # the ETA's queue count reads the cases as flushed above
                drafts = draft_for_mention(session, self.config, self.renderer, case, mention, now, team)
            cases.after_drafting(session, case, bool(drafts), now)
            assignment.assign(session, self.config, case, now, roster=roster)
            automatic += [d for d in drafts if approval.auto_approve_allowed(self.config, d, mention.triage)]
            result.drafts += len(drafts)
        self._auto_approve(session, automatic, now)

    def _rules(
        self, session: Session, case: Case, mention: Mention, triage: TriageResult, now, hides: list[tuple[int, str]]
    ) -> None:
        """The config's rules on one placed mention; a hide they ask for waits until the mention is stored."""
        if self.config.rules:
            fired = rules.apply_rules(session, self.config, case, mention, triage, now)
            if fired.hide:
                hides.append((mention.id, fired.hide))

    def _hide(self, hides: list[tuple[int, str]], now) -> None:
        """Hide on their platforms the mentions rules asked to hide; what could not be done becomes a reason."""
        for mention_id, rule in hides:
            try:
                if self.responder_for is None:
                    outcome = moderation.Outcome(mention_id, True, False, "this pipeline has no platform to hide it on")
                else:
                    outcome = moderation.set_hidden(
                        self.factory, self.responder_for, mention_id, True, f"rule:{rule}", now, rule=rule
                    )
                if not outcome.done:
                    with transaction(self.factory) as session:
                        # a mention is hidden only after it is triaged and stored: its triage exists
                        triage = session.scalars(
                            select(TriageResult).where(TriageResult.mention_id == mention_id)
                        ).one()
                        triage.reasons = [*(triage.reasons or []), f"rule {rule!r}: not hidden: {outcome.problem}"]
            except Exception:  # the mention is stored and answered; a failed hide must not undo that
                log.exception("rule %r: hiding mention %s failed", rule, mention_id)

    def _auto_approve(self, session: Session, drafts: list[Draft], now) -> None:
        """Approve the drafts the config lets through, in the order they were written, then forget them."""
        if drafts:
            session.flush()
            # The policy checks count posts already attempted; nothing queued in this transaction is one yet.
            with session.no_autoflush:
                for draft in drafts:
                    approval.maybe_auto_approve(session, self.config, draft, now)
            drafts.clear()

    def _one(self, mention_id: int, decision: Triage | None, result: ProcessResult) -> None:
        now = self.clock.now()
        try:
            with transaction(self.factory) as session:
                mention = session.get_one(Mention, mention_id)  # claimed by this worker: it exists
                claims.lock_thread(session, mention.platform, mention.thread_key)
                if decision is None:
                    decision = self.triager.triage([triage_input(mention)], now=now)[0]
                triage = store_triage(session, mention, decision, now)
                case, reopened = cases.attach(session, mention, triage, self.config.sla, now)
                hides: list[tuple[int, str]] = []
                self._rules(session, case, mention, triage, now, hides)
                session.flush()
                drafts = draft_for_mention(session, self.config, self.renderer, case, mention, now)
                session.flush()
                cases.after_drafting(session, case, bool(drafts), now)
                assignment.assign(session, self.config, case, now)
                for draft in drafts:
                    approval.maybe_auto_approve(session, self.config, draft, now)
                claims.finish_mention(session, mention_id, self.claimant, MentionStatus.PROCESSED)
                result.triaged += 1
                result.drafts += len(drafts)
                result.reopened += int(reopened)
            self._hide(hides, now)
        except claims.ClaimLost as exc:
            log.warning("%s; its result here is discarded", exc)
        except Exception as exc:
            log.exception("mention %s could not be processed; it is kept with status 'failed'", mention_id)
            try:
                with transaction(self.factory) as session:
                    claims.finish_mention(
                        session,
                        mention_id,
                        self.claimant,
                        MentionStatus.FAILED,
                        error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
            except claims.ClaimLost:
                return
            result.failed += 1
