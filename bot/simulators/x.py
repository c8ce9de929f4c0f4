"""A fake X API v2: mentions, recent search, DM events, posting replies and DMs, with X's payload shapes and limits."""

from __future__ import annotations

import base64
import itertools
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.simulators.base import Fault, Reply, Request, Simulator
from responders.x import X_MAX_LENGTH, x_length

WINDOW_SECONDS = 15 * 60
# Requests per 15-minute window, per endpoint, as X documents them for the Basic tier (roughly).
DEFAULT_LIMITS = {
    "tweets": 900,
    "mentions": 180,
    "search": 180,
    "dm_events": 300,
    "dm_send": 200,
    "tweets_post": 100,
    "users_me": 75,
    "tweets_hide": 50,
}
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class XSimulator(Simulator):
    """Serves /2/... like api.twitter.com for one brand account; tokens are whatever you give it."""

    name = "x-simulator"

    def __init__(
        self,
        *,
        brand_username: str = "acme",
        brand_user_id: str = "1500000000000000001",
        bearer_tokens: tuple[str, ...] = ("sim-bearer",),
        access_tokens: tuple[str, ...] = ("sim-access",),
        clock: Callable[[], datetime] | None = None,
        first_id: int | None = None,
    ):
        super().__init__(clock)
        self.brand_user_id = brand_user_id
        self.bearer_tokens = set(bearer_tokens)
        self.access_tokens = set(access_tokens)
        self.limits = dict(DEFAULT_LIMITS)
        self.users: dict[str, dict[str, Any]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.dm_events: dict[str, dict[str, Any]] = {}
        self.hidden: set[str] = set()  # replies the brand hid in its conversations
        # ids grow with time so a restarted simulator never reuses one; a fixed first_id makes seeding repeatable
        self._ids = itertools.count(first_id or 1790000000000000000 + int(time.time()) % 100000 * 1000)
        self._windows: dict[str, tuple[float, int]] = {}
        self.add_user(brand_username, "Acme Support", followers=120000, user_id=brand_user_id)

    # -- seeding (tests and the demo) ------------------------------------
    def next_id(self) -> str:
        """A new snowflake-like id, larger than every earlier one."""
        return str(next(self._ids))

    def add_user(
        self, username: str, name: str | None = None, *, followers: int = 100, user_id: str | None = None
    ) -> str:
        """Create a user; returns its id."""
        user_id = user_id or str(1000000 + len(self.users))
        with self.lock:
            self.users[user_id] = {
                "id": user_id,
                "username": username.lstrip("@"),
                "name": name or username.lstrip("@").title(),
                "public_metrics": {
                    "followers_count": followers,
                    "following_count": 50,
                    "tweet_count": 1000,
                    "listed_count": 1,
                },
                "verified": False,
                "created_at": "2015-03-02T10:00:00.000Z",
            }
        return user_id

    def user_id(self, username: str) -> str:
        """The id of the user with this username (created if new)."""
        for user in self.users.values():
            if user["username"].lower() == username.lstrip("@").lower():
                return user["id"]
        return self.add_user(username)

    def post(
        self,
        author: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        lang: str = "en",
        created_at: datetime | None = None,
    ) -> str:
        """Someone posts (author is a username); returns the post id."""
        author_id = self.user_id(author)
        with self.lock:
            return self._create_tweet(author_id, text, in_reply_to, lang, created_at)["id"]

    def direct_message(self, sender: str, text: str, *, created_at: datetime | None = None) -> str:
        """Someone writes to the brand in private; returns the DM event id."""
        sender_id = self.user_id(sender)
        with self.lock:
            return self._create_dm(sender_id, self.brand_user_id, text, created_at)["id"]

    def revoke(self) -> None:
        """Every token stops working (a person revoked the app)."""
        with self.lock:
            self.bearer_tokens.clear()
            self.access_tokens.clear()

    def brand_posts(self) -> list[dict[str, Any]]:
        """What the brand account posted, oldest first: the record tests assert exactly-once against."""
        with self.lock:
            return [r for r in self.posted if r["kind"] == "tweet"]

    def brand_messages(self) -> list[dict[str, Any]]:
        """Direct messages the brand sent, oldest first."""
        with self.lock:
            return [r for r in self.posted if r["kind"] == "dm"]

    def _create_tweet(
        self, author_id: str, text: str, in_reply_to: str | None, lang: str = "en", created_at: datetime | None = None
    ) -> dict[str, Any]:
        tweet_id = self.next_id()
        mentions = []
        for match in _MENTION.finditer(text):
            mentioned = next((u for u in self.users.values() if u["username"].lower() == match.group(1).lower()), None)
            if mentioned:
                mentions.append(
                    {
                        "start": match.start(),
                        "end": match.end(),
                        "username": mentioned["username"],
                        "id": mentioned["id"],
                    }
                )
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": text,
            "author_id": author_id,
            "created_at": _iso(created_at or self.clock()),
            "conversation_id": tweet_id,
            "lang": lang,
            "edit_history_tweet_ids": [tweet_id],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0},
        }
        if mentions:
            tweet["entities"] = {"mentions": mentions}
        if in_reply_to:
            parent = self.tweets[in_reply_to]
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to}]
        self.tweets[tweet_id] = tweet
        return tweet

    def _create_dm(
        self, sender_id: str, recipient_id: str, text: str, created_at: datetime | None = None
    ) -> dict[str, Any]:
        low, high = sorted((sender_id, recipient_id), key=int)
        event: dict[str, Any] = {
            "id": self.next_id(),
            "event_type": "MessageCreate",
            "text": text,
            "sender_id": sender_id,
            "dm_conversation_id": f"{low}-{high}",
            "created_at": _iso(created_at or self.clock()),
            "participant_ids": [low, high],
        }
        self.dm_events[event["id"]] = event
        return event

    # -- HTTP ------------------------------------------------------------
    def _auth(self, request: Request, user_context: bool) -> Reply | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            if user_context:
                return Reply(
                    403,
                    {
                        "title": "Unsupported Authentication",
                        "status": 403,
                        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
                    },
                )
            if header[7:] in self.bearer_tokens:
                return None
        elif header.startswith("OAuth "):
            match = re.search(r'oauth_token="([^"]*)"', header)
            if match and match.group(1) in self.access_tokens:
                return None
        return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})

    def _count(self, bucket: str) -> tuple[dict[str, str], bool]:
        """Spend one call of the bucket's window; the rate-limit headers and whether the call is refused."""
        now = time.time()
        with self.lock:
            start, used = self._windows.get(bucket, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, used = now, 0
            limit = self.limits.get(bucket, 100)
            refused = used >= limit
            if not refused:
                used += 1
            self._windows[bucket] = (start, used)
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(int(start + WINDOW_SECONDS)),
        }
        return headers, refused

    def fault_reply(self, fault: Fault, request: Request) -> Reply:
        if fault.kind == "rate_limit":
            return Reply(
                429,
                {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                {
                    "x-rate-limit-limit": "180",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(int(time.time() + fault.reset_in)),
                },
            )
        if fault.kind == "auth":
            return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
        return Reply(
            fault.status,
            {
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "type": "about:blank",
                "status": fault.status,
            },
        )

    def break_item(self, item: Any) -> Any:
        broken = dict(item) if isinstance(item, dict) else {}
        broken.pop("author_id", None)
        broken.pop("sender_id", None)
        broken["text"] = None
        broken["created_at"] = "yesterday-ish"
        return broken

    def route(self, request: Request) -> Reply:
        path, method = request.path.rstrip("/"), request.method
        routes: list[tuple[str, str, str, bool, Callable[..., Reply]]] = [
            ("GET", r"/2/users/me", "users_me", True, self._me),
            ("GET", r"/2/users/(\d+)/mentions", "mentions", False, self._mentions),
            ("GET", r"/2/users/(\d+)/tweets", "tweets", False, self._user_tweets),
            ("GET", r"/2/tweets/search/recent", "search", False, self._search),
            ("GET", r"/2/dm_events", "dm_events", True, self._dm_events),
            ("GET", r"/2/dm_conversations/with/(\d+)/dm_events", "dm_events", True, self._dm_events),
            ("GET", r"/2/dm_conversations/([\d-]+)/dm_events", "dm_events", True, self._dm_events),
            ("POST", r"/2/tweets", "tweets_post", True, self._post_tweet),
            ("PUT", r"/2/tweets/(\d+)/hidden", "tweets_hide", True, self._hide_reply),
            ("POST", r"/2/dm_conversations/with/(\d+)/messages", "dm_send", True, self._post_dm),
            ("POST", r"/2/dm_conversations/([\d-]+)/messages", "dm_send", True, self._post_dm),
        ]
        for route_method, pattern, bucket, user_context, handler in routes:
            match = re.fullmatch(pattern, path)
            if route_method != method or not match:
                continue
            refused = self._auth(request, user_context)
            if refused:
                return refused
            headers, over = self._count(bucket)
            if over:
                return Reply(
                    429,
                    {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                    headers,
                )
            reply = handler(request, *match.groups())
            reply.headers.update(headers)
            return reply
        return Reply(
            404,
            {"title": "Not Found Error", "detail": f"no route {method} {path}", "type": "about:blank", "status": 404},
        )

    def _me(self, request: Request) -> Reply:
        user = self.users[self.brand_user_id]
        return Reply(200, {"data": {k: user[k] for k in ("id", "name", "username")}})

    def _page(self, items: list[dict[str, Any]], request: Request, id_key: str = "id") -> Reply:
        """Newest first, since_id/until_id, max_results and next_token the way X pages timelines."""
        query = request.query
        items = sorted(items, key=lambda t: int(t[id_key]), reverse=True)
        if query.get("since_id"):
            items = [t for t in items if int(t[id_key]) > int(query["since_id"])]
        if query.get("until_id"):
            items = [t for t in items if int(t[id_key]) < int(query["until_id"])]
        token = query.get("pagination_token") or query.get("next_token")
        if token:
            try:
                below = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                return Reply(
                    400,
                    {
                        "errors": [
                            {
                                "parameters": {"pagination_token": [token]},
                                "message": "The `pagination_token` query parameter value is not valid",
                            }
                        ],
                        "title": "Invalid Request",
                        "detail": "One or more parameters to your request was invalid.",
                        "type": "https://api.twitter.com/2/problems/invalid-request",
                    },
                )
            items = [t for t in items if int(t[id_key]) < below]
        try:
            size = max(1, min(100, int(query.get("max_results", 10))))
        except ValueError:
            size = 10
        page, rest = items[:size], items[size:]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0][id_key], oldest_id=page[-1][id_key])
        if rest:
            meta["next_token"] = base64.urlsafe_b64encode(page[-1][id_key].encode()).decode()
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [dict(item) for item in page]
            authors = {a for item in page if (a := item.get("author_id") or item.get("sender_id"))}
            if "expansions" in query:
                body["includes"] = {"users": [self._user_view(a) for a in sorted(authors) if a in self.users]}
        return Reply(200, body)

    def _user_view(self, user_id: str) -> dict[str, Any]:
        user = self.users[user_id]
        return {k: user[k] for k in ("id", "name", "username", "public_metrics", "verified", "created_at")}

    def _mentions(self, request: Request, user_id: str) -> Reply:
        if user_id not in self.users:
            return Reply(
                200,
                {
                    "errors": [
                        {
                            "value": user_id,
                            "detail": f"Could not find user with id: [{user_id}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                        }
                    ]
                },
            )
        username = self.users[user_id]["username"].lower()
        with self.lock:
            found = [
                t
                for t in self.tweets.values()
                if t["author_id"] != user_id
                and any(m["username"].lower() == username for m in t.get("entities", {}).get("mentions", []))
            ]
        return self._page(found, request)

    def _user_tweets(self, request: Request, user_id: str) -> Reply:
        with self.lock:
            found = [t for t in self.tweets.values() if t["author_id"] == user_id]
        return self._page(found, request)

    def _search(self, request: Request) -> Reply:
        query = request.query.get("query", "")
        if not query.strip():
            return Reply(400, {"title": "Invalid Request", "detail": "query is required", "type": "about:blank"})
        with self.lock:
            found = [t for t in self.tweets.values() if self._matches(t, query)]
        return self._page(found, request)

    def _matches(self, tweet: dict[str, Any], query: str) -> bool:
        """A small subset of X's query language: words, "phrases", OR, -negation, from:, conversation_id:, is:reply."""
        return any(self._matches_all(tweet, part) for part in re.split(r"\s+OR\s+", query))

    def _matches_all(self, tweet: dict[str, Any], query: str) -> bool:
        text = tweet["text"].lower()
        author = self.users.get(tweet["author_id"], {}).get("username", "").lower()
        for negate, phrase, word in re.findall(r'(-?)(?:"([^"]+)"|(\S+))', query.strip("() ")):
            term = (phrase or word).lower()
            if term.startswith("from:"):
                ok = author == term[5:].lstrip("@")
            elif term.startswith("conversation_id:"):
                ok = tweet["conversation_id"] == term.split(":", 1)[1]
            elif term == "is:reply":
                ok = "referenced_tweets" in tweet
            elif term == "is:retweet":
                ok = tweet["text"].startswith("RT @")
            elif term.startswith("lang:"):
                ok = tweet.get("lang") == term[5:]
            else:
                ok = term in text
            if ok == bool(negate):
                return False
        return True

    def _dm_events(self, request: Request, conversation: str | None = None) -> Reply:
        with self.lock:
            events = list(self.dm_events.values())
        if conversation and "-" in conversation:
            events = [e for e in events if e["dm_conversation_id"] == conversation]
        elif conversation:
            events = [e for e in events if conversation in e["participant_ids"]]
        return self._page(events, request)

    def _post_tweet(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return Reply(
                400,
                {
                    "errors": [{"message": "text is required"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request",
                },
            )
        if x_length(text) > X_MAX_LENGTH:
            return Reply(
                403,
                {"detail": "Your Tweet text is too long.", "type": "about:blank", "title": "Forbidden", "status": 403},
            )
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        with self.lock:
            if reply_to and reply_to not in self.tweets:
                return Reply(
                    403,
                    {
                        "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    },
                )
            if any(r["kind"] == "tweet" and r["text"] == text for r in self.posted):
                return Reply(
                    403,
                    {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    },
                )
            tweet = self._create_tweet(self.brand_user_id, text, reply_to)
            self.posted.append(
                {
                    "kind": "tweet",
                    "id": tweet["id"],
                    "text": text,
                    "in_reply_to_tweet_id": reply_to,
                    "conversation_id": tweet["conversation_id"],
                    "at": tweet["created_at"],
                }
            )
        return Reply(201, {"data": {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}})

    def _hide_reply(self, request: Request, tweet_id: str) -> Reply:
        """Hide or unhide a reply: only in a conversation the brand started, and never the brand's own post."""
        body = request.body if isinstance(request.body, dict) else {}
        if not isinstance(body.get("hidden"), bool):
            return Reply(
                400, {"title": "Invalid Request", "detail": "hidden must be true or false", "type": "about:blank"}
            )
        with self.lock:
            tweet = self.tweets.get(tweet_id)
            root = self.tweets.get(tweet["conversation_id"]) if tweet else None
            if tweet is None:
                return Reply(404, {"title": "Not Found Error", "detail": f"no post {tweet_id}", "type": "about:blank"})
            if root is None or root["author_id"] != self.brand_user_id or tweet_id == root["id"]:
                return Reply(
                    403,
                    {
                        "title": "Forbidden",
                        "detail": "You can only hide or unhide replies to conversations you authored.",
                        "type": "about:blank",
                        "status": 403,
                    },
                )
            if body["hidden"]:
                self.hidden.add(tweet_id)
            else:
                self.hidden.discard(tweet_id)
            self.posted.append({"kind": "hide", "id": tweet_id, "hidden": body["hidden"]})
        return Reply(200, {"data": {"hidden": body["hidden"]}})

    def _post_dm(self, request: Request, target: str) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return Reply(400, {"title": "Invalid Request", "detail": "text is required", "type": "about:blank"})
        if "-" in target:
            participants = target.split("-")
            if self.brand_user_id not in participants:
                return Reply(
                    403,
                    {
                        "title": "Forbidden",
                        "detail": "You are not part of this conversation.",
                        "type": "about:blank",
                        "status": 403,
                    },
                )
            participant = next(p for p in participants if p != self.brand_user_id)
        else:
            participant = target
        with self.lock:
            if participant not in self.users:
                return Reply(
                    400, {"title": "Invalid Request", "detail": "participant not found", "type": "about:blank"}
                )
            wrote_first = any(
                e["sender_id"] == participant and self.brand_user_id in e["participant_ids"]
                for e in self.dm_events.values()
            )
            if not wrote_first:
                return Reply(
                    403,
                    {
                        "title": "Forbidden",
                        "detail": "You cannot send messages to this user.",
                        "type": "about:blank",
                        "status": 403,
                    },
                )
            event = self._create_dm(self.brand_user_id, participant, text)
            self.posted.append(
                {
                    "kind": "dm",
                    "id": event["id"],
                    "text": text,
                    "recipient_id": participant,
                    "dm_conversation_id": event["dm_conversation_id"],
                    "at": event["created_at"],
                }
            )
        return Reply(201, {"data": {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["id"]}})


def seed_demo(sim: XSimulator) -> None:
    """A few realistic conversations for the demo: a complaint, a question, a proactive mention, a DM."""
    now = sim.clock()
    sim.add_user("maria_g", "María García", followers=340)
    sim.add_user("techdan", "Dan Okafor", followers=15800)
    sim.add_user("lu_sanchez", "Lucía Sánchez", followers=85)
    sim.post(
        "maria_g",
        "@acme my order #4411 still hasn't arrived and nobody answers the phone. Really disappointed.",
        created_at=now - timedelta(minutes=42),
    )
    sim.post(
        "techdan",
        "Does @acme support exporting invoices to CSV? Can't find it in the app.",
        created_at=now - timedelta(minutes=17),
    )
    sim.post(
        "lu_sanchez",
        "Me encanta la nueva app de Acme, mucho más rápida 👏",
        lang="es",
        created_at=now - timedelta(minutes=9),
    )
    sim.direct_message(
        "maria_g", "Hi, I was charged twice for order #4411, can you check?", created_at=now - timedelta(minutes=5)
    )
