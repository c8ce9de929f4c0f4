"""A fake Instagram Graph API for a professional account linked to a Page: media, comments, tags, DMs."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.simulators.base import Fault, Reply, Request
from bot.simulators.facebook import (
    INVALID_SESSION,
    GraphApiSimulator,
    _as_epoch,
    _fb_time,
    _graph_error,
    _parse,
    unsupported,
)

PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S+0000"
SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
BROKEN = {"unexpected": "shape"}


def page_items(
    request: Request,
    items: list[dict[str, Any]],
    newest_first: bool,
    public: Callable[[dict[str, Any]], dict[str, Any]],
    url: str,
    stamp: str = "timestamp",
) -> Reply:
    """since/until on `stamp`, limit and after-cursors the way Graph pages an edge."""
    query = request.query
    since, until = _as_epoch(query.get("since")), _as_epoch(query.get("until"))
    if since is not None:
        items = [i for i in items if _parse(i[stamp]) >= since]
    if until is not None:
        items = [i for i in items if _parse(i[stamp]) <= until]
    items = sorted(items, key=lambda i: (i[stamp], len(i["id"]), i["id"]), reverse=newest_first)
    start = 0
    if query.get("after"):
        try:
            start = int(base64.urlsafe_b64decode(query["after"].encode()).decode())
        except ValueError:
            start = -1
        if start < 0:
            return _graph_error("Invalid cursor", 100)
    try:
        limit = max(1, min(100, int(query.get("limit", 25))))
    except ValueError:
        limit = 25
    page = items[start : start + limit]
    body: dict[str, Any] = {"data": [public(i) for i in page]}
    if page:
        cursors = {
            "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
            "after": base64.urlsafe_b64encode(str(start + len(page)).encode()).decode(),
        }
        body["paging"] = {"cursors": cursors}
        if start + limit < len(items):
            kept: dict[str, Any] = {k: v for k, v in query.items() if k not in ("after", "before", "limit")}
            kept.update(limit=limit, after=cursors["after"])
            body["paging"]["next"] = f"{url}{request.path}?{urlencode(kept)}"
    return Reply(200, body)


def _shortcode(media_id: str) -> str:
    number, code = int(media_id), ""
    while number:
        number, digit = divmod(number, 64)
        code = SHORTCODE_ALPHABET[digit] + code
    return code or "A"


def _age(now: datetime, stamp: str) -> timedelta:
    return now - datetime.strptime(stamp, GRAPH_TIME)


class InstagramSimulator(GraphApiSimulator):
    """Serves /vNN.N/... like graph.facebook.com for one Instagram account; page_tokens are the Page tokens."""

    name = "instagram-simulator"

    def __init__(
        self,
        *,
        ig_user_id: str = "17841400000000001",
        username: str = "acme",
        page_id: str = "100200300400500",
        page_tokens: tuple[str, ...] = ("sim-page-token",),
        clock: Callable[[], datetime] | None = None,
        calls_per_hour: int = 4800,
        first_id: int | None = None,
    ):
        super().__init__(clock)
        self.ig_user_id = ig_user_id
        self.username = username
        self.page_id = page_id
        self.page_tokens = set(page_tokens)
        self.calls_per_hour = calls_per_hour
        self.people: dict[str, dict[str, str]] = {}
        self.media_items: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(first_id or int(time.time()) % 100000 * 1000 + 1)
        self._calls: list[float] = []

    # -- seeding ----------------------------------------------------------
    def _n(self) -> int:
        return next(self._seq)

    def _account(self) -> dict[str, str]:
        return {"id": self.ig_user_id, "username": self.username}

    def person(self, username: str) -> dict[str, str]:
        """The person with this username (created if new) as `from` shows them: an IG-scoped id stable per username."""
        with self.lock:
            if username not in self.people:
                taken = {p["id"] for p in self.people.values()}
                number = 1000000000000000 + int(hashlib.sha256(username.encode()).hexdigest(), 16) % 9000000000000000
                while str(number) in taken or str(number) == self.ig_user_id:
                    number += 1
                self.people[username] = {"id": str(number), "username": username}
            return dict(self.people[username])

    def media(self, caption: str, *, created_at: datetime | None = None, media_type: str = "IMAGE") -> str:
        """The account publishes a post; returns the media id."""
        return self._add_media(caption, self._account(), "own", media_type, created_at)

    def tagged_media(self, username: str, caption: str, *, created_at: datetime | None = None) -> str:
        """Someone else posts and tags the account; returns the media id."""
        return self._add_media(caption, self.person(username), "tagged", "IMAGE", created_at)

    def comment(self, on: str, username: str, text: str, *, created_at: datetime | None = None) -> str:
        """Someone comments on a media (on = a media id) or replies to a comment (on = a comment id); returns its id."""
        return self._add_comment(on, self.person(username), text, created_at)

    def message(self, username: str, text: str, *, created_at: datetime | None = None) -> str:
        """Someone sends the account a DM (one conversation per person); returns the message id."""
        sender = self.person(username)
        with self.lock:
            conversation = self._conversation(sender)
            return self._add_message(conversation, sender, self._account(), text, created_at)

    def revoke(self) -> None:
        """Every token stops working (password change, app removed, account unlinked from the Page)."""
        with self.lock:
            self.page_tokens.clear()

    def brand_replies(self) -> list[dict[str, Any]]:
        """Public replies the account wrote, oldest first."""
        with self.lock:
            return [r for r in self.posted if r["kind"] == "reply"]

    def _add_media(
        self, caption: str, author: dict[str, str], kind: str, media_type: str, created_at: datetime | None
    ) -> str:
        media_id = f"1789{self._n() % 10**13:013d}"
        with self.lock:
            self.media_items[media_id] = {
                "id": media_id,
                "caption": caption,
                "timestamp": _fb_time(created_at or self.clock()),
                "media_type": media_type,
                "permalink": f"https://www.instagram.com/p/{_shortcode(media_id)}/",
                "username": author["username"],
                "kind": kind,
            }
        return media_id

    def _add_comment(self, on: str, author: dict[str, str], text: str, created_at: datetime | None) -> str:
        with self.lock:
            if on in self.comments:
                parent = self.comments[on]
                top = parent.get("parent_id", parent["id"])  # replies are one level deep
                media_id = parent["media_id"]
            elif on in self.media_items:
                top, media_id = None, on
            else:
                raise ValueError(f"no media or comment with id {on!r}")
            comment_id = f"1785{self._n() % 10**13:013d}"
            comment: dict[str, Any] = {
                "id": comment_id,
                "text": text,
                "timestamp": _fb_time(created_at or self.clock()),
                "username": author["username"],
                "from": dict(author),
                "hidden": False,
                "like_count": 0,
                "media_id": media_id,
                "private_replied": False,
            }
            if top:
                comment["parent_id"] = top
            self.comments[comment_id] = comment
        return comment_id

    def _conversation(self, person: dict[str, str]) -> dict[str, Any]:
        for conversation in self.conversations.values():
            if conversation["person_id"] == person["id"]:
                return conversation
        conversation_id = base64.urlsafe_b64encode(f"ig_dm:{self._n()}".encode()).decode().rstrip("=")
        conversation = {
            "id": conversation_id,
            "person_id": person["id"],
            "person": dict(person),
            "updated_time": "1970-01-01T00:00:00+0000",
        }
        self.conversations[conversation_id] = conversation
        return conversation

    def _add_message(
        self,
        conversation: dict[str, Any],
        sender: dict[str, str],
        recipient: dict[str, str],
        text: str,
        created_at: datetime | None,
    ) -> str:
        message_id = f"ig_m_{self._n()}"
        stamp = _fb_time(created_at or self.clock())
        self.messages[message_id] = {
            "id": message_id,
            "message": text,
            "created_time": stamp,
            "from": dict(sender),
            "to": {"data": [dict(recipient)]},
            "conversation_id": conversation["id"],
        }
        conversation["updated_time"] = max(conversation["updated_time"], stamp)
        return message_id

    # -- views --------------------------------------------------------------
    @staticmethod
    def _media_view(media: dict[str, Any]) -> dict[str, Any]:
        return {k: media[k] for k in ("id", "caption", "timestamp", "media_type", "permalink", "username")}

    @staticmethod
    def _comment_view(comment: dict[str, Any]) -> dict[str, Any]:
        view = {k: comment[k] for k in ("id", "text", "timestamp", "username", "hidden", "like_count")}
        view["from"] = dict(comment["from"])
        if "parent_id" in comment:
            view["parent_id"] = comment["parent_id"]
        return view

    @staticmethod
    def _conversation_view(conversation: dict[str, Any]) -> dict[str, Any]:
        return {"id": conversation["id"], "updated_time": conversation["updated_time"]}

    @staticmethod
    def _message_view(message: dict[str, Any]) -> dict[str, Any]:
        return {k: message[k] for k in ("id", "message", "created_time", "from", "to")}

    # -- HTTP -------------------------------------------------------------
    def _usage_owner(self) -> tuple[str, str]:
        return self.ig_user_id, "instagram"

    def fault_reply(self, fault: Fault, request: Request) -> Reply:
        if fault.kind == "rate_limit":
            reply = _graph_error(
                "(#4) Application request limit reached",
                4,
                status=429,
                headers=self._usage_headers(100, max(1, round(fault.reset_in / 60))),
            )
            reply.body["error"]["is_transient"] = True
            return reply
        if fault.kind == "auth":
            return _graph_error(INVALID_SESSION, 190, subcode=460)
        reply = _graph_error(
            "An unexpected error has occurred. Please retry your request later.", 2, status=fault.status
        )
        reply.body["error"]["is_transient"] = True
        return reply

    def break_item(self, item: Any) -> Any:
        """The item with its id, its text or caption turned into an object and its timestamp gone."""
        if not isinstance(item, dict):
            return {"id": None, "text": dict(BROKEN)}
        broken = {k: v for k, v in item.items() if k not in ("timestamp", "created_time", "updated_time")}
        shaped = [k for k in ("text", "caption", "message") if k in broken] or ["text"]
        for key in shaped:
            broken[key] = dict(BROKEN)
        return broken

    def _page(
        self,
        request: Request,
        items: list[dict[str, Any]],
        newest_first: bool,
        public: Callable[[dict[str, Any]], dict[str, Any]],
        stamp: str = "timestamp",
    ) -> Reply:
        return page_items(request, items, newest_first, public, self.url, stamp)

    def _get_media(self, request: Request, node: str) -> Reply:
        if node != self.ig_user_id:
            return unsupported(node)
        with self.lock:
            found = [m for m in self.media_items.values() if m["kind"] == "own"]
        return self._page(request, found, True, self._media_view)

    def _get_tags(self, request: Request, node: str) -> Reply:
        if node != self.ig_user_id:
            return unsupported(node)
        with self.lock:
            found = [m for m in self.media_items.values() if m["kind"] == "tagged"]
        return self._page(request, found, True, self._media_view)

    def _get_comments(self, request: Request, node: str) -> Reply:
        if node not in self.media_items:
            return unsupported(node)
        with self.lock:
            found = [c for c in self.comments.values() if c["media_id"] == node and "parent_id" not in c]
        return self._page(request, found, request.query.get("order") == "reverse_chronological", self._comment_view)

    def _get_replies(self, request: Request, node: str) -> Reply:
        if node not in self.comments:
            return unsupported(node)
        with self.lock:
            found = [c for c in self.comments.values() if c.get("parent_id") == node]
        return self._page(request, found, False, self._comment_view)

    def _get_node(self, request: Request, node: str) -> Reply:
        with self.lock:
            if node in self.comments:
                comment = self.comments[node]
                view = self._comment_view(comment)
                view["media"] = {"id": comment["media_id"]}
                view["can_reply_privately"] = (
                    not comment["private_replied"] and _age(self.clock(), comment["timestamp"]) <= PRIVATE_REPLY_WINDOW
                )
                return Reply(200, view)
            if node in self.media_items:
                return Reply(200, self._media_view(self.media_items[node]))
            if node == self.ig_user_id:
                return Reply(200, self._account())
            if node == self.page_id:
                return Reply(200, {"id": self.page_id, "instagram_business_account": {"id": self.ig_user_id}})
        return unsupported(node)

    def _get_conversations(self, request: Request, node: str) -> Reply:
        if node not in (self.page_id, self.ig_user_id, "me"):
            return unsupported(node)
        if request.query.get("platform") != "instagram":
            return Reply(200, {"data": []})
        with self.lock:
            found = [c for c in self.conversations.values() if request.query.get("user_id") in (None, c["person_id"])]
        return self._page(request, found, True, self._conversation_view, stamp="updated_time")

    def _get_messages(self, request: Request, node: str) -> Reply:
        if node not in self.conversations:
            return unsupported(node)
        with self.lock:
            found = [m for m in self.messages.values() if m["conversation_id"] == node]
        return self._page(request, found, True, self._message_view, stamp="created_time")

    def _post_replies(self, request: Request, node: str) -> Reply:
        message = self._params(request).get("message")
        if not isinstance(message, str) or not message.strip():
            return _graph_error("(#100) Missing message or attachment", 100)
        with self.lock:
            comment = self.comments.get(node)
            if comment is None:
                return unsupported(node, "POST")
            if "parent_id" in comment:
                return _graph_error("(#100) Replies can only be added to top-level comments", 100)
            if comment["hidden"]:
                return _graph_error("(#100) The comment is hidden", 100)
            reply_id = self._add_comment(node, self._account(), message, None)
            self.posted.append(
                {"kind": "reply", "id": reply_id, "text": message, "on": node, "media_id": comment["media_id"]}
            )
        return Reply(200, {"id": reply_id})

    def _post_node(self, request: Request, node: str) -> Reply:
        params = self._params(request)
        if node not in self.comments:
            return unsupported(node, "POST")
        if "hide" not in params:
            return _graph_error("(#100) No fields to update", 100)
        with self.lock:
            self.comments[node]["hidden"] = str(params["hide"]).lower() in ("true", "1")
            self.posted.append({"kind": "hide", "id": node, "hidden": self.comments[node]["hidden"]})
        return Reply(200, {"success": True})

    def _post_messages(self, request: Request, node: str) -> Reply:
        if node not in (self.page_id, self.ig_user_id, "me"):
            return _graph_error("(#100) Messages can only be sent from the account", 100)
        params = self._params(request)
        recipient, message = params.get("recipient"), params.get("message")
        try:
            recipient = json.loads(recipient) if isinstance(recipient, str) else recipient
            message = json.loads(message) if isinstance(message, str) else message
        except ValueError:
            return _graph_error("(#100) Param recipient and message must be JSON objects", 100)
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(recipient, dict) or not isinstance(text, str) or not text:
            return _graph_error("(#100) The parameter recipient and message.text are required", 100)
        now = self.clock()
        with self.lock:
            if "comment_id" in recipient:
                return self._private_reply(str(recipient["comment_id"]), text, now)
            person_id = str(recipient.get("id", ""))
            conversation = next((c for c in self.conversations.values() if c["person_id"] == person_id), None)
            if conversation is None:
                return _graph_error("(#100) No matching user found", 100, subcode=2018001)
            theirs = [
                m["created_time"]
                for m in self.messages.values()
                if m["conversation_id"] == conversation["id"] and m["from"]["id"] == person_id
            ]
            if not theirs or _age(now, max(theirs)) > MESSAGING_WINDOW:
                return _graph_error("(#10) This message is sent outside of allowed window.", 10, subcode=2018278)
            message_id = self._add_message(conversation, self._account(), conversation["person"], text, None)
            self.posted.append({"kind": "message", "id": message_id, "text": text, "recipient_id": person_id})
        return Reply(200, {"recipient_id": person_id, "message_id": message_id})

    def _private_reply(self, comment_id: str, text: str, now: datetime) -> Reply:
        comment = self.comments.get(comment_id)
        if comment is None or comment["from"]["id"] == self.ig_user_id:
            return _graph_error("(#100) Invalid comment_id", 100)
        if comment["private_replied"]:
            return _graph_error("(#10900) Activity already replied to", 10900)
        if _age(now, comment["timestamp"]) > PRIVATE_REPLY_WINDOW:
            return _graph_error("(#10903) This activity can't be replied to", 10903)
        comment["private_replied"] = True
        person = comment["from"]
        conversation = self._conversation(person)
        message_id = self._add_message(conversation, self._account(), person, text, None)
        self.posted.append(
            {
                "kind": "private_reply",
                "id": message_id,
                "text": text,
                "comment_id": comment_id,
                "recipient_id": person["id"],
            }
        )
        return Reply(200, {"recipient_id": person["id"], "message_id": message_id})


def seed_demo(sim: InstagramSimulator) -> None:
    """A product post with a complaint thread and a question, a tagged post and a DM about an order."""
    now = sim.clock()
    post = sim.media("New trail runners are in 👟 Which colour are you getting?", created_at=now - timedelta(hours=4))
    complaint = sim.comment(
        post,
        "maria.lopez",
        "The sole of my pair came off after two weeks. Not cheap shoes either.",
        created_at=now - timedelta(hours=2),
    )
    sim.comment(complaint, "jonas.runs", "Same thing happened to mine 😕", created_at=now - timedelta(minutes=80))
    sim.comment(post, "kei_trails", "Do they run true to size?", created_at=now - timedelta(minutes=35))
    sim.tagged_media("sofia.moves", "Morning run in my new @acme shoes ☀️", created_at=now - timedelta(hours=1))
    sim.message(
        "dan.okafor",
        "Hi! I paid for express delivery on order 55120 but it still says processing",
        created_at=now - timedelta(minutes=15),
    )
