"""Storing mentions once: deduplicated on (platform, platform id), with the author as a customer identity."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Account, Customer, Identity, Mention
from listeners.base import IncomingMention

MAX_TEXT = 20000


def identity_for(session: Session, platform: str, incoming: IncomingMention, now: datetime) -> Identity:
    """The author's identity, created with a new customer the first time they write."""
    identity = session.scalar(select(Identity).where(Identity.platform == platform,
                                                     Identity.platform_user_id == incoming.author_id))
    if identity is None:
        customer = Customer(display_name=incoming.author_name or incoming.author_handle, created_at=now)
        identity = Identity(customer=customer, platform=platform, platform_user_id=incoming.author_id)
        session.add_all([customer, identity])
    identity.handle = incoming.author_handle or identity.handle
    identity.name = incoming.author_name or identity.name
    if incoming.author_followers is not None:
        identity.followers = incoming.author_followers
    return identity


def store_mentions(session: Session, account: Account, incoming: list[IncomingMention], now: datetime) -> list[Mention]:
    """Insert the mentions not seen before; returns only the new ones."""
    stored: list[Mention] = []
    seen: set[tuple[str, str]] = set()
    for item in incoming:
        platform = item.platform
        key = (platform, item.platform_id)
        if key in seen or session.scalar(select(Mention.id).where(Mention.platform == platform,
                                                                  Mention.platform_id == item.platform_id)):
            continue
        seen.add(key)
        identity = identity_for(session, platform, item, now)
        mention = Mention(account_id=account.id, platform=platform, platform_id=item.platform_id,
                          thread_key=item.thread(), in_reply_to_id=item.in_reply_to_id, channel=item.channel,
                          stream=item.stream, identity=identity, text=item.text[:MAX_TEXT], lang_hint=item.lang,
                          addressed_to_brand=item.addressed_to_brand, url=item.url, created_at=item.created_at,
                          fetched_at=now, raw=item.raw, status="new")
        session.add(mention)
        stored.append(mention)
    session.flush()
    return stored
