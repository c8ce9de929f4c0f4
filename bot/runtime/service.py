"""The service's parts wired together from one config: database, triage, pipeline, pollers, outbox."""

from __future__ import annotations

import logging
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.casework import cases
from bot.casework.drafting import TemplateRenderer
from bot.casework.pipeline import Pipeline
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.coordination import claims
from bot.delivery.outbox import Outbox
from bot.intake import accounts
from bot.intake.poller import Poller
from bot.platforms.credentials import credentials_fingerprint
from bot.platforms.registry import platform_named
from bot.simulators.embedded import use_simulator_tokens
from bot.storage import db
from bot.storage.db import transaction
from bot.triage.build import build_triager
from bot.triage.decision import Triager
from responders import Responder, SandboxResponder

log = logging.getLogger(__name__)


def _fingerprint(account):
    return credentials_fingerprint(account)


class Service:
    """Everything the daemon, the CLI and the console share."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        engine: Engine | None = None,
        triager: Triager | None = None,
        worker: str = "daemon",
    ):
        self.config = config
        self.clock = clock or SystemClock()
        if config.simulators.enabled:
            use_simulator_tokens(config)
        self.engine = engine or db.make_engine(config.database_url(), echo=config.storage.echo_sql)
        self.factory: sessionmaker[Session] = db.session_factory(self.engine)
        self._triager = triager
        self.worker = worker
        # Unique per process: claims and leases name it, so two daemons never mistake each other's work for theirs.
        self.claimant = config.daemon.worker_name or claims.default_claimant(worker)
        self._responders: dict[str, Responder] = {}

    @cached_property
    def triager(self) -> Triager:
        """The classifier, built on first use (loading a model takes a moment)."""
        return self._triager or build_triager(self.config, self.config.triage.model_dir)

    def apply_config(self, new: Config, triager: Triager | None = None) -> None:
        """Run on a new config from now on: the given triager (else the current one), fresh pollers, responders,
        pipeline and outbox, and the templates again if their folder changed."""
        old, self.config = self.config, new
        if triager is not None:
            self._triager = triager
            self.__dict__["triager"] = triager
        if new.drafts.templates_dir != old.drafts.templates_dir:
            self.__dict__.pop("renderer", None)
        for part in ("pollers", "pipeline", "outbox"):
            self.__dict__.pop(part, None)  # cached_property: dropped, rebuilt from the new config on next use
        self._responders.clear()

    @cached_property
    def renderer(self) -> TemplateRenderer:
        """The reply template renderer."""
        return TemplateRenderer(self.config.drafts.templates_dir)

    def upgrade(self) -> None:
        """Bring the schema to the latest migration."""
        db.upgrade(self.engine)

    def check_schema(self) -> None:
        """Refuse to work on an outdated schema."""
        db.check_schema(self.engine)

    def sync_accounts(self) -> None:
        """Create or refresh the database rows of the configured accounts."""
        with transaction(self.factory) as session:
            accounts.sync_accounts(session, self.config, self.clock.now())

    @cached_property
    def pollers(self) -> dict[str, Poller]:
        """A poller per enabled account."""
        return {
            a.name: Poller(
                self.factory,
                self.config,
                a,
                platform_named(a.platform).build_listener(a, self.config.brand, self.clock),
                self.clock,
                _fingerprint,
            )
            for a in self.config.accounts
            if a.enabled
        }

    @cached_property
    def pipeline(self) -> Pipeline:
        """Triage, cases and drafting for stored mentions."""
        return Pipeline(
            self.factory,
            self.config,
            self.triager,
            self.renderer,
            self.clock,
            claimant=self.claimant,
            claim_seconds=self.config.daemon.claim_seconds,
            responder_for=self.responder,
        )

    def responder(self, account_name: str) -> Responder:
        """The responder of an account (built once)."""
        if account_name not in self._responders:
            account = self.config.account(account_name)
            self._responders[account_name] = (
                platform_named(account.platform).build_responder(account)
                if account.sends_for_real
                else SandboxResponder(account.name)
            )
        return self._responders[account_name]

    @cached_property
    def outbox(self) -> Outbox:
        """The sender of approved replies."""
        return Outbox(
            self.factory,
            self.config,
            self.responder,
            self.clock,
            self.worker,
            claimant=self.claimant,
            claim_seconds=self.config.daemon.claim_seconds,
            after_sending=cases.after_sending,
        )

    def poll_account(self, name: str):
        """Poll one account, then take what it stored through the pipeline."""
        result = self.pollers[name].poll()
        if result.stored:
            self.pipeline.run()
        return result

    def cycle(self) -> None:
        """One pass over every account, the pipeline and the outbox (demo, tests, backfills)."""
        for name in self.pollers:
            self.poll_account(name)
        self.pipeline.run()
        self.outbox.run()
