"""Seeds the simulators with a replay scenario (the bundled demo), so the demo runs through the real clients."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.simulators.facebook import GraphSimulator
from bot.simulators.instagram import InstagramSimulator
from bot.simulators.x import XSimulator
from bot.triage.language import detect_language

PAGE_POST = "New fibre plans are here: up to 1 Gb, no installation fee this month. Questions? Ask below 👇"
PRODUCT_POST = "Meet the Acme X300 mesh router: whole-home wifi in one box 📶 Which room needs it most?"


def load(path: str | Path) -> list[dict[str, Any]]:
    """The scenario's lines, in file order (oldest first); a bad line names its number."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return items


def _created(item: dict[str, Any], now: datetime) -> datetime:
    return now - timedelta(minutes=float(item.get("age_minutes", 0)))


def seed(
    x_sim: XSimulator,
    graph_sim: GraphSimulator,
    path: str | Path,
    now: datetime,
    instagram_sim: InstagramSimulator | None = None,
) -> dict[str, int]:
    """Post every scenario line on its platform's simulator, keeping threads; returns counts per platform."""
    items = load(path)
    ids: dict[str, str] = {}
    counts = {"x": 0, "facebook": 0, "instagram": 0}
    oldest = max((float(i.get("age_minutes", 0)) for i in items), default=0)
    page_post = graph_sim.page_post(PAGE_POST, created_at=now - timedelta(minutes=oldest + 60))
    product_post = (
        instagram_sim.media(PRODUCT_POST, created_at=now - timedelta(minutes=oldest + 60))
        if instagram_sim is not None
        else None
    )
    for item in items:
        author = item.get("author") or {}
        created = _created(item, now)
        if item.get("platform") == "instagram":
            if instagram_sim is None or product_post is None:
                continue
            username = (author.get("handle") or author.get("name") or "instagram.user").lstrip("@")
            if item.get("channel") == "private":
                ids[item["id"]] = instagram_sim.message(username, item["text"], created_at=created)
            elif item.get("stream") == "tags":
                ids[item["id"]] = instagram_sim.tagged_media(username, item["text"], created_at=created)
            else:
                parent = ids.get(item.get("in_reply_to") or "") or ids.get(item.get("thread") or "")
                ids[item["id"]] = instagram_sim.comment(
                    parent or product_post, username, item["text"], created_at=created
                )
            counts["instagram"] += 1
            continue
        if item.get("platform") == "facebook":
            name = author.get("name") or author.get("handle") or "Facebook user"
            if item.get("channel") == "private":
                ids[item["id"]] = graph_sim.message(name, item["text"], created_at=created)
            else:
                parent = ids.get(item.get("in_reply_to") or "") or ids.get(item.get("thread") or "")
                ids[item["id"]] = graph_sim.comment(parent or page_post, name, item["text"], created_at=created)
            counts["facebook"] += 1
            continue
        handle = (author.get("handle") or f"user{author.get('id', '')}").lstrip("@")
        x_sim.user_id(handle)
        user = x_sim.users[x_sim.user_id(handle)]
        user["name"] = author.get("name") or user["name"]
        user["public_metrics"]["followers_count"] = int(author.get("followers") or 0)
        if item.get("channel") == "private":
            ids[item["id"]] = x_sim.direct_message(handle, item["text"], created_at=created)
        else:
            reply_to = ids.get(item.get("in_reply_to") or "")
            # X tags every post with the language it detects; a line without "lang" gets ours
            lang = item.get("lang") or detect_language(item["text"])
            ids[item["id"]] = x_sim.post(handle, item["text"], in_reply_to=reply_to, lang=lang, created_at=created)
        counts["x"] += 1
    return counts
