"""Storing mentions once: deduplicated on (platform, platform id), with the author as a customer identity."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bot.db import dialect_insert
from bot.models import Account, Customer, Identity, Mention
from listeners.base import IncomingMention

MAX_TEXT = 20000
LOOKUP_CHUNK = 500


def identity_for(session: Session, platform: str, incoming: IncomingMention, now: datetime) -> Identity:
    """The author's identity, created with a new customer the first time they write."""
    where = (Identity.platform == platform, Identity.platform_user_id == incoming.author_id)
    identity = session.scalar(select(Identity).where(*where))
    if identity is None:
        customer = Customer(display_name=incoming.author_name or incoming.author_handle, created_at=now)
        session.add(customer)
        session.flush()
        # ON CONFLICT: another daemon may store the same author at this moment; the unique key decides who wins.
        created = session.scalar(dialect_insert(session, Identity)
                                 .values(customer_id=customer.id, platform=platform,
                                         platform_user_id=incoming.author_id)
                                 .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
                                 .returning(Identity.id))
        if created is None:
            session.delete(customer)
        identity = session.scalar(select(Identity).where(*where))
    identity.handle = incoming.author_handle or identity.handle
    identity.name = incoming.author_name or identity.name
    if incoming.author_followers is not None:
        identity.followers = incoming.author_followers
    return identity


def store_mentions(session: Session, account: Account, incoming: list[IncomingMention], now: datetime) -> list[Mention]:
    """Insert the mentions not seen before; returns only the new ones (safe when two daemons store the same one)."""
    keys = list(dict.fromkeys((item.platform, item.platform_id) for item in incoming))
    known: set[tuple[str, str]] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start:start + LOOKUP_CHUNK]
        known.update((platform, platform_id) for platform, platform_id in session.execute(
            select(Mention.platform, Mention.platform_id).where(tuple_(Mention.platform, Mention.platform_id).in_(chunk))))
    stored: list[Mention] = []
    seen: set[tuple[str, str]] = set(known)
    for item in incoming:
        platform = item.platform
        key = (platform, item.platform_id)
        if key in seen:
            continue
        seen.add(key)
        identity = identity_for(session, platform, item, now)
        session.flush()
        values = dict(account_id=account.id, platform=platform, platform_id=item.platform_id,
                      thread_key=item.thread(), in_reply_to_id=item.in_reply_to_id, channel=item.channel,
                      stream=item.stream, identity_id=identity.id, text=item.text[:MAX_TEXT], lang_hint=item.lang,
                      addressed_to_brand=item.addressed_to_brand, url=item.url, created_at=item.created_at,
                      fetched_at=now, raw=item.raw, status="new")
        mention = session.scalar(dialect_insert(session, Mention).values(**values)
                                 .on_conflict_do_nothing(index_elements=["platform", "platform_id"])
                                 .returning(Mention), execution_options={"populate_existing": True})
        if mention is not None:
            stored.append(mention)
    session.flush()
    return stored
