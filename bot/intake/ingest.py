"""Storing mentions once: deduplicated on (platform, platform id), with the author as a customer identity.

A page of mentions is stored with a handful of set-based statements (authors looked up together, new ones inserted
together, mentions inserted together with ON CONFLICT DO NOTHING), so polling keeps up with a busy brand.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from bot.storage.db import dialect_insert
from bot.storage.models import Account, Customer, Identity, Mention
from bot.storage.statuses import MentionStatus
from listeners.base import IncomingMention

MAX_TEXT = 20000
LOOKUP_CHUNK = 500
INSERT_CHUNK = 500  # rows per bulk INSERT (SQLAlchemy splits them into statements within the driver's limits)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_identities(session: Session, platform: str, user_ids: list[str]) -> dict[str, Identity]:
    found: dict[str, Identity] = {}
    for chunk in _chunks(user_ids, LOOKUP_CHUNK):
        for identity in session.scalars(
            select(Identity).where(Identity.platform == platform, Identity.platform_user_id.in_(chunk))
        ):
            found[identity.platform_user_id] = identity
    return found


def identities_for(
    session: Session, platform: str, incoming: list[IncomingMention], now: datetime
) -> dict[str, Identity]:
    """The authors' identities by platform user id, each new author created with a new customer."""
    first: dict[str, IncomingMention] = {}
    for item in incoming:
        first.setdefault(item.author_id, item)
    found = _load_identities(session, platform, list(first))
    missing = [author for author in first if author not in found]
    for chunk in _chunks(missing, INSERT_CHUNK):
        customer_ids = list(
            session.scalars(
                dialect_insert(session, Customer).returning(Customer.id, sort_by_parameter_order=True),
                [
                    {"display_name": first[author].author_name or first[author].author_handle, "created_at": now}
                    for author in chunk
                ],
            )
        )
        rows = [
            {
                "customer_id": customer_id,
                "platform": platform,
                "platform_user_id": author,
                "handle": first[author].author_handle,
                "name": first[author].author_name,
                "followers": first[author].author_followers,
                "verified": first[author].author_verified,
            }
            for author, customer_id in zip(chunk, customer_ids, strict=True)
        ]
        # ON CONFLICT: another daemon may store the same author at this moment; the unique key decides who wins.
        created = set(
            session.scalars(
                dialect_insert(session, Identity)
                .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"])
                .returning(Identity.customer_id),
                rows,
            )
        )
        unused = [row["customer_id"] for row in rows if row["customer_id"] not in created]
        if unused:
            session.execute(delete(Customer).where(Customer.id.in_(unused)))
    if missing:
        found.update(_load_identities(session, platform, missing))
    for item in incoming:  # the newest details win, as each mention is read in order
        identity = found[item.author_id]
        if item.author_handle and identity.handle != item.author_handle:
            identity.handle = item.author_handle
        if item.author_name and identity.name != item.author_name:
            identity.name = item.author_name
        if item.author_followers is not None and identity.followers != item.author_followers:
            identity.followers = item.author_followers
        if item.author_verified is not None and identity.verified != item.author_verified:
            identity.verified = item.author_verified
    return found


def store_mentions(session: Session, account: Account, incoming: list[IncomingMention], now: datetime) -> list[Mention]:
    """Insert the mentions not seen before; returns only the new ones (safe when two daemons store the same one)."""
    keys = list(dict.fromkeys((item.platform, item.platform_id) for item in incoming))
    known: set[tuple[str, str]] = set()
    for chunk in _chunks(keys, LOOKUP_CHUNK):
        known.update(
            (platform, platform_id)
            for platform, platform_id in session.execute(
                select(Mention.platform, Mention.platform_id).where(
                    tuple_(Mention.platform, Mention.platform_id).in_(chunk)
                )
            )
        )
    fresh: list[IncomingMention] = []
    seen: set[tuple[str, str]] = set(known)
    for item in incoming:
        key = (item.platform, item.platform_id)
        if key not in seen:
            seen.add(key)
            fresh.append(item)
    if not fresh:
        return []
    identities: dict[tuple[str, str], Identity] = {}
    for platform in dict.fromkeys(item.platform for item in fresh):
        page = [item for item in fresh if item.platform == platform]
        for author, identity in identities_for(session, platform, page, now).items():
            identities[(platform, author)] = identity
    session.flush()
    inserted: set[int] = set()
    for chunk in _chunks(fresh, INSERT_CHUNK):
        rows = [
            dict(
                account_id=account.id,
                platform=item.platform,
                platform_id=item.platform_id,
                thread_key=item.thread(),
                in_reply_to_id=item.in_reply_to_id,
                channel=item.channel,
                stream=item.stream,
                identity_id=identities[(item.platform, item.author_id)].id,
                text=item.text[:MAX_TEXT],
                lang_hint=item.lang,
                addressed_to_brand=item.addressed_to_brand,
                url=item.url,
                created_at=item.created_at,
                fetched_at=now,
                raw=item.raw,
                status=MentionStatus.NEW,
            )
            for item in chunk
        ]
        # ON CONFLICT: a mention another daemon stored meanwhile is left alone and not returned as new.
        inserted.update(
            session.scalars(
                dialect_insert(session, Mention)
                .on_conflict_do_nothing(index_elements=["platform", "platform_id"])
                .returning(Mention.id),
                rows,
            )
        )
    stored: list[Mention] = []
    for chunk in _chunks(sorted(inserted), LOOKUP_CHUNK):
        stored.extend(session.scalars(select(Mention).where(Mention.id.in_(chunk)).order_by(Mention.id)))
    return stored
