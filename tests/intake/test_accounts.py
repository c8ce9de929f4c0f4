"""Account rows: created from config.yaml once, even when several daemons start together on a new database."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot.intake import accounts
from bot.runtime.service import Service
from bot.storage.db import transaction
from bot.storage.models import Account


def test_daemons_started_together_on_a_new_database_create_each_account_once(desk):
    with desk.session() as session:
        session.query(Account).delete()
    services = [Service(desk.config, clock=desk.clock, triager=desk.service._triager) for _ in range(3)]
    start = threading.Barrier(len(services))
    errors: list[BaseException] = []

    def boot(service):
        start.wait()
        try:
            with transaction(service.factory) as session:
                accounts.sync_accounts(session, service.config, desk.clock.now())
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=boot, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in services:
        service.engine.dispose()

    assert errors == []
    with desk.session() as session:
        assert session.scalar(select(func.count(Account.id))) == 1
        assert session.scalar(select(Account.handle)) == "@acme"
