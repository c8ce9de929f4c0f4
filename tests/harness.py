"""A whole service in one process for behaviour tests: a replay file you write to, a frozen clock, the sandbox."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import approval, cases
from bot.clock import FrozenClock
from bot.config import Config, parse_config
from bot.runtime.service import Service
from bot.storage.db import transaction
from bot.storage.models import Case, Draft, Mention, OutboxMessage
from responders.sandbox import SandboxResponder


def base_config(tmp_path: Path, database_url: str, **overrides: Any) -> dict[str, Any]:
    """A config mapping for tests: one replay account reading tmp_path/mentions.jsonl."""
    data: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "storage": {"url": database_url, "url_env": None},
        "accounts": [
            {
                "name": "brand",
                "platform": "replay",
                "path": str(tmp_path / "mentions.jsonl"),
                "poll_interval_seconds": 1,
                "handle": "@acme",
                "batch_size": 100,
            }
        ],
        "daemon": {"jitter_seconds": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


class Desk:
    """The service under test, driven step by step like a community manager would."""

    def __init__(
        self, tmp_path: Path, database_url: str, clock: FrozenClock | None = None, triager=None, **overrides: Any
    ):
        self.tmp_path = tmp_path
        self.clock = clock or FrozenClock(datetime(2026, 1, 5, 9, 0))
        self.replay = tmp_path / "mentions.jsonl"
        self.replay.touch()
        self.config: Config = parse_config(base_config(tmp_path, database_url, **overrides))
        self.database_url = database_url
        self.service = self._new_service(triager)
        self.service.upgrade()
        self.service.sync_accounts()
        self._ids = itertools.count(1)

    def _new_service(self, triager=None) -> Service:
        return Service(self.config, clock=self.clock, triager=triager)

    def restart(self) -> Desk:
        """A new service over the same database and files, as after a daemon restart."""
        triager = self.service._triager
        self.service.engine.dispose()
        self.service = self._new_service(triager)
        self.service.check_schema()
        self.service.sync_accounts()
        return self

    def mention(
        self,
        text: str,
        author: str = "@ana",
        *,
        id: str | None = None,
        thread: str | None = None,
        in_reply_to: str | None = None,
        channel: str = "public",
        addressed: bool = True,
        lang: str | None = None,
        followers: int | None = 100,
        platform: str = "x",
        author_name: str | None = None,
        verified: bool | None = None,
    ) -> str:
        """Append a mention to the replay file, as if someone just wrote it; returns its platform id."""
        mention_id = id or f"m-{next(self._ids)}"
        line = {
            "id": mention_id,
            "platform": platform,
            "text": text,
            "author": {
                "id": f"user-{author.lstrip('@')}",
                "handle": author,
                "name": author_name or author.lstrip("@").title(),
                "followers": followers,
            },
            "created_at": self.clock.now().isoformat(),
            "thread": thread or mention_id,
            "in_reply_to": in_reply_to,
            "channel": channel,
            "addressed_to_brand": addressed,
        }
        if lang:
            line["lang"] = lang
        if verified is not None:
            line["author"]["verified"] = verified
        with self.replay.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return mention_id

    def poll(self) -> None:
        """One daemon cycle: poll, triage, case, draft, send what is approved."""
        self.service.cycle()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session that commits at the end."""
        with transaction(self.service.factory) as session:
            yield session

    def drafts(self, status: str = "pending") -> list[Draft]:
        """Drafts with a status, oldest first."""
        with self.session() as session:
            return list(session.scalars(select(Draft).where(Draft.status == status).order_by(Draft.id)))

    def draft(self, draft_id: int) -> Draft:
        """One draft, fresh from the database."""
        with self.session() as session:
            return session.get(Draft, draft_id)

    def case_of(self, platform_id: str) -> Case:
        """The case a mention belongs to."""
        with self.session() as session:
            mention = session.scalar(select(Mention).where(Mention.platform_id == platform_id))
            assert mention is not None, f"mention {platform_id} was not stored"
            assert mention.case_id is not None, f"mention {platform_id} has no case (status {mention.status})"
            return session.get(Case, mention.case_id)

    def approve(
        self, draft_id: int, text: str | None = None, override: str | None = None, actor: str = "maria"
    ) -> Draft:
        """Approve a draft and run the outbox."""
        with self.session() as session:
            approval.approve(session, self.config, draft_id, actor, self.clock.now(), text, override)
        self.service.outbox.run()
        return self.draft(draft_id)

    def reject(self, draft_id: int, reason: str, actor: str = "maria") -> Draft:
        """Reject a draft."""
        with self.session() as session:
            approval.reject(session, draft_id, actor, reason, self.clock.now())
        return self.draft(draft_id)

    def resolve(self, case_id: int, summary: str = "", actor: str = "maria") -> Draft:
        """Resolve a case; returns the close draft."""
        with self.session() as session:
            return cases.resolve(session, self.config, self.service.renderer, case_id, actor, self.clock.now(), summary)

    def posted(self) -> list[OutboxMessage]:
        """Everything the sandbox recorded as posted, in order."""
        with self.session() as session:
            return list(
                session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent").order_by(OutboxMessage.id))
            )

    def sandbox(self, account: str = "brand") -> SandboxResponder:
        """The sandbox responder of an account (what this process posted)."""
        return self.service.responder(account)

    def count(self, model) -> int:
        """Rows in a table."""
        with self.session() as session:
            return len(list(session.scalars(select(model))))
