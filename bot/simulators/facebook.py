"""A fake Graph API for one Page: posts, visitor posts, tags, comments with threads, Messenger, private replies."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.simulators.base import Fault, Reply, Request, Simulator, epoch

PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)


def _fb_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _graph_error(
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode:
        error["error_subcode"] = subcode
    return Reply(status, {"error": error}, headers or {})


INVALID_SESSION = (
    "Error validating access token: The session has been invalidated because the user changed their "
    "password or Facebook has changed the session for security reasons."
)


def unsupported(node: str, method: str = "GET") -> Reply:
    """Graph's answer for a node or edge that does not exist or does not take this method."""
    return _graph_error(
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation.",
        100,
        kind="GraphMethodException",
        subcode=33,
    )


class GraphApiSimulator(Simulator):
    """What the Graph API simulators share: /vNN.N/node[/edge] routing to _<method>_<edge> handlers, the Page token
    check, parameters from the query and the body, and usage headers on every answer."""

    page_tokens: set[str]
    page_id: str
    calls_per_hour: int
    _calls: list[float]

    def route(self, request: Request) -> Reply:
        match = re.fullmatch(r"/v\d+\.\d+/([^/]+)(?:/([a-z_]+))?/?", request.path)
        if not match:
            return _graph_error("Unknown path components", 2500)
        token = request.query.get("access_token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.page_tokens:
            return _graph_error(INVALID_SESSION, 190, subcode=460)
        node, edge = match.group(1), match.group(2)
        handler = getattr(self, f"_{request.method.lower()}_{edge or 'node'}", None)
        reply = handler(request, node) if handler else unsupported(node, request.method)
        reply.headers.update(self._usage_headers())
        return reply

    def _params(self, request: Request) -> dict[str, Any]:
        params = dict(request.query)
        if isinstance(request.body, dict):
            params.update(request.body)
        return params

    def _usage_owner(self) -> tuple[str, str]:
        """The id the usage headers are reported for, and its type (a Page, an Instagram account)."""
        return self.page_id, "pages"

    def _usage_headers(self, percent: int | None = None, regain_minutes: int = 0) -> dict[str, str]:
        """X-App-Usage and X-Business-Use-Case-Usage as Meta sends them: this hour's share of the call budget."""
        if percent is None:
            now = time.time()
            with self.lock:
                self._calls = [t for t in self._calls if now - t < 3600] + [now]
                percent = min(100, round(100 * len(self._calls) / self.calls_per_hour))
        owner, kind = self._usage_owner()
        app = {"call_count": percent, "total_cputime": max(0, percent - 2), "total_time": max(0, percent - 1)}
        business = {
            owner: [
                {
                    "type": kind,
                    "call_count": percent,
                    "total_cputime": max(0, percent - 2),
                    "total_time": max(0, percent - 1),
                    "estimated_time_to_regain_access": regain_minutes,
                }
            ]
        }
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(business)}


class GraphSimulator(GraphApiSimulator):
    """Serves /vNN.N/... like graph.facebook.com for one Page; page_tokens are the Page access tokens it accepts."""

    name = "graph-simulator"

    def __init__(
        self,
        *,
        page_id: str = "100200300400500",
        page_name: str = "Acme",
        page_tokens: tuple[str, ...] = ("sim-page-token",),
        clock: Callable[[], datetime] | None = None,
        calls_per_hour: int = 4800,
        first_id: int | None = None,
    ):
        super().__init__(clock)
        self.page_id = page_id
        self.page_name = page_name
        self.page_tokens = set(page_tokens)
        self.calls_per_hour = calls_per_hour
        self.people: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(first_id or int(time.time()) % 100000 * 1000 + 1)
        self._calls: list[float] = []

    # -- seeding ----------------------------------------------------------
    def _n(self) -> str:
        return str(next(self._seq))

    def person(self, name: str) -> dict[str, str]:
        """The person with this name (created if new), as Graph shows `from`."""
        for person in self.people.values():
            if person["name"] == name:
                return {"id": person["id"], "name": person["name"]}
        person_id = str(10150000000000 + len(self.people) * 7919)
        self.people[person_id] = {"id": person_id, "name": name, "psid": str(2400000000000000 + len(self.people))}
        return {"id": person_id, "name": name}

    def page_post(self, message: str, *, created_at: datetime | None = None) -> str:
        """The Page publishes a post; returns its id."""
        return self._add_post(message, {"id": self.page_id, "name": self.page_name}, "page", created_at)

    def visitor_post(self, author: str, message: str, *, created_at: datetime | None = None) -> str:
        """Someone posts on the Page; returns the post id."""
        return self._add_post(message, self.person(author), "visitor", created_at)

    def tagged_post(self, author: str, message: str, *, created_at: datetime | None = None) -> str:
        """Someone tags the Page in a post on their own timeline; returns the post id."""
        return self._add_post(message, self.person(author), "tagged", created_at)

    def comment(self, on: str, author: str, message: str, *, created_at: datetime | None = None) -> str:
        """Someone comments on a post, or replies to a comment (on = a comment id); returns the comment id."""
        return self._add_comment(on, self.person(author), message, created_at)

    def message(self, sender: str, text: str, *, created_at: datetime | None = None) -> str:
        """Someone writes to the Page on Messenger; returns the message id."""
        person = self.person(sender)
        psid = self.people[person["id"]]["psid"]
        with self.lock:
            conversation = self._conversation(psid, person["name"])
            return self._add_message(conversation, {"id": psid, "name": person["name"]}, text, created_at)

    def revoke(self) -> None:
        """Every Page token stops working (password change, app removed)."""
        with self.lock:
            self.page_tokens.clear()

    def _add_post(self, message: str, author: dict[str, str], kind: str, created_at: datetime | None) -> str:
        owner = self.page_id if kind != "tagged" else author["id"]
        post_id = f"{owner}_{self._n()}"
        with self.lock:
            self.posts[post_id] = {
                "id": post_id,
                "message": message,
                "created_time": _fb_time(created_at or self.clock()),
                "from": author,
                "kind": kind,
                "permalink_url": f"https://www.facebook.com/{owner}/posts/{post_id.split('_')[1]}",
            }
        return post_id

    def _add_comment(self, on: str, author: dict[str, str], message: str, created_at: datetime | None) -> str:
        with self.lock:
            if on in self.comments:
                parent = self.comments[on]
                top = parent["parent"]["id"] if "parent" in parent else parent["id"]  # threads are two levels deep
                post_id = parent["post_id"]
            else:
                top, post_id = None, on
            comment_id = f"{post_id.split('_')[-1]}_{self._n()}"
            comment: dict[str, Any] = {
                "id": comment_id,
                "message": message,
                "created_time": _fb_time(created_at or self.clock()),
                "from": author,
                "post_id": post_id,
                "is_hidden": False,
                "private_replied": False,
                "permalink_url": f"{self.posts[post_id]['permalink_url']}?comment_id={comment_id.split('_')[1]}",
            }
            if top:
                comment["parent"] = {
                    "id": top,
                    "created_time": self.comments[top]["created_time"],
                    "from": self.comments[top]["from"],
                    "message": self.comments[top]["message"],
                }
            self.comments[comment_id] = comment
        return comment_id

    def _conversation(self, psid: str, name: str) -> dict[str, Any]:
        for conversation in self.conversations.values():
            if conversation["psid"] == psid:
                return conversation
        conversation_id = f"t_{self._n()}"
        conversation = {
            "id": conversation_id,
            "psid": psid,
            "updated_time": "1970-01-01T00:00:00+0000",
            "participants": {"data": [{"id": psid, "name": name}, {"id": self.page_id, "name": self.page_name}]},
        }
        self.conversations[conversation_id] = conversation
        return conversation

    def _add_message(
        self, conversation: dict[str, Any], sender: dict[str, str], text: str, created_at: datetime | None
    ) -> str:
        message_id = f"m_{base64.urlsafe_b64encode(self._n().encode()).decode().rstrip('=')}"
        other = next(p for p in conversation["participants"]["data"] if p["id"] != sender["id"])
        stamp = _fb_time(created_at or self.clock())
        self.messages[message_id] = {
            "id": message_id,
            "message": text,
            "created_time": stamp,
            "from": sender,
            "to": {"data": [other]},
            "conversation_id": conversation["id"],
        }
        conversation["updated_time"] = max(conversation["updated_time"], stamp)
        return message_id

    def page_comments(self) -> list[dict[str, Any]]:
        """Comments the Page wrote, oldest first."""
        with self.lock:
            return [r for r in self.posted if r["kind"] == "comment"]

    # -- HTTP -------------------------------------------------------------
    def fault_reply(self, fault: Fault, request: Request) -> Reply:
        if fault.kind == "rate_limit":
            minutes = max(1, round(fault.reset_in / 60))
            business = {
                self.page_id: [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 40,
                        "total_time": 60,
                        "estimated_time_to_regain_access": minutes,
                    }
                ]
            }
            return _graph_error(
                "(#32) Page request limit reached",
                32,
                status=403,
                headers={"X-Business-Use-Case-Usage": json.dumps(business)},
            )
        if fault.kind == "auth":
            return _graph_error(INVALID_SESSION, 190, subcode=460)
        return _graph_error(
            "An unexpected error has occurred. Please retry your request later.",
            2,
            kind="OAuthException",
            status=fault.status,
        )

    def break_item(self, item: Any) -> Any:
        broken = {"id": item.get("id")} if isinstance(item, dict) else {}
        broken["message"] = {"unexpected": "shape"}
        return broken

    def _edge(self, request: Request, items: list[dict[str, Any]], newest_first: bool = True) -> Reply:
        """since/until, limit and after-cursors the way Graph pages edges."""
        query = request.query
        since = _as_epoch(query.get("since"))
        until = _as_epoch(query.get("until"))
        if since is not None:
            items = [i for i in items if _parse(i["created_time"]) >= since]
        if until is not None:
            items = [i for i in items if _parse(i["created_time"]) <= until]
        items = sorted(items, key=lambda i: (i["created_time"], i["id"]), reverse=newest_first)
        start = 0
        if query.get("after"):
            try:
                start = int(base64.urlsafe_b64decode(query["after"].encode()).decode())
            except ValueError:
                return _graph_error("Invalid cursor", 100)
        try:
            limit = max(1, min(100, int(query.get("limit", 25))))
        except ValueError:
            limit = 25
        page = items[start : start + limit]
        body: dict[str, Any] = {"data": [self._public(i) for i in page]}
        if page:
            cursors = {
                "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(start + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + limit < len(items):
                body["paging"]["next"] = f"{self.url}{request.path}?after={cursors['after']}&limit={limit}"
        return Reply(200, body)

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        hidden = ("kind", "post_id", "private_replied", "psid", "conversation_id")  # simulator bookkeeping
        return {k: v for k, v in item.items() if k not in hidden}

    def _get_posts(self, request: Request, node: str) -> Reply:
        return self._edge(request, [p for p in self.posts.values() if p["kind"] == "page" and node == self.page_id])

    def _get_published_posts(self, request: Request, node: str) -> Reply:
        return self._get_posts(request, node)

    def _get_visitor_posts(self, request: Request, node: str) -> Reply:
        return self._edge(request, [p for p in self.posts.values() if p["kind"] == "visitor" and node == self.page_id])

    def _get_tagged(self, request: Request, node: str) -> Reply:
        return self._edge(request, [p for p in self.posts.values() if p["kind"] == "tagged" and node == self.page_id])

    def _get_feed(self, request: Request, node: str) -> Reply:
        return self._edge(request, [p for p in self.posts.values() if p["kind"] != "tagged" and node == self.page_id])

    def _get_comments(self, request: Request, node: str) -> Reply:
        if node not in self.posts and node not in self.comments:
            return _graph_error(f"Object with ID '{node}' does not exist", 100, kind="GraphMethodException", subcode=33)
        with self.lock:
            if node in self.comments:
                found = [c for c in self.comments.values() if c.get("parent", {}).get("id") == node]
            elif request.query.get("filter") == "stream":
                found = [c for c in self.comments.values() if c["post_id"] == node]
            else:
                found = [c for c in self.comments.values() if c["post_id"] == node and "parent" not in c]
        return self._edge(request, found, newest_first=request.query.get("order") == "reverse_chronological")

    def _get_node(self, request: Request, node: str) -> Reply:
        with self.lock:
            if node in self.comments:
                comment = self.comments[node]
                age = self.clock() - datetime.strptime(comment["created_time"], "%Y-%m-%dT%H:%M:%S+0000")
                view = self._public(comment)
                view["can_reply_privately"] = not comment["private_replied"] and age <= PRIVATE_REPLY_WINDOW
                return Reply(200, view)
            if node in self.posts:
                post = self.posts[node]
                view = self._public(post)
                if post["kind"] == "visitor":
                    age = self.clock() - datetime.strptime(post["created_time"], "%Y-%m-%dT%H:%M:%S+0000")
                    view["can_reply_privately"] = not post.get("private_replied") and age <= PRIVATE_REPLY_WINDOW
                return Reply(200, view)
            if node == self.page_id:
                return Reply(200, {"id": self.page_id, "name": self.page_name})
        return _graph_error(f"Object with ID '{node}' does not exist", 100, kind="GraphMethodException", subcode=33)

    def _get_conversations(self, request: Request, node: str) -> Reply:
        with self.lock:
            found = [
                dict(c, created_time=c["updated_time"])
                for c in self.conversations.values()
                if request.query.get("user_id") in (None, c["psid"])
            ]
        reply = self._edge(request, found)
        for item in reply.body.get("data", []):
            item.pop("created_time", None)
        return reply

    def _get_messages(self, request: Request, node: str) -> Reply:
        if node not in self.conversations:
            return _graph_error(f"Object with ID '{node}' does not exist", 100, kind="GraphMethodException", subcode=33)
        with self.lock:
            found = [m for m in self.messages.values() if m["conversation_id"] == node]
        return self._edge(request, found)

    def _post_comments(self, request: Request, node: str) -> Reply:
        message = self._params(request).get("message")
        if not isinstance(message, str) or not message.strip():
            return _graph_error("(#100) Missing message or attachment", 100)
        if node not in self.posts and node not in self.comments:
            return _graph_error(f"Object with ID '{node}' does not exist", 100, kind="GraphMethodException", subcode=33)
        with self.lock:
            comment_id = self._add_comment(node, {"id": self.page_id, "name": self.page_name}, message, None)
            comment = self.comments[comment_id]
            self.posted.append(
                {
                    "kind": "comment",
                    "id": comment_id,
                    "text": message,
                    "on": node,
                    "thread": comment.get("parent", {}).get(
                        "id", comment["post_id"] if "parent" not in comment else None
                    ),
                    "post_id": comment["post_id"],
                    "at": comment["created_time"],
                }
            )
        return Reply(200, {"id": comment_id})

    def _post_node(self, request: Request, node: str) -> Reply:
        params = self._params(request)
        if node not in self.comments:
            return _graph_error(f"Object with ID '{node}' does not exist", 100, kind="GraphMethodException", subcode=33)
        if "is_hidden" in params:
            with self.lock:
                self.comments[node]["is_hidden"] = str(params["is_hidden"]).lower() == "true"
                self.posted.append({"kind": "hide", "id": node, "hidden": self.comments[node]["is_hidden"]})
            return Reply(200, {"success": True})
        return _graph_error("(#100) No fields to update", 100)

    def _post_messages(self, request: Request, node: str) -> Reply:
        if node not in (self.page_id, "me"):
            return _graph_error("(#100) Messages can only be sent from the Page", 100)
        params = self._params(request)
        recipient, message = params.get("recipient"), params.get("message")
        if isinstance(recipient, str):
            recipient = json.loads(recipient)
        if isinstance(message, str):
            message = json.loads(message)
        text = (message or {}).get("text") if isinstance(message, dict) else None
        if not isinstance(recipient, dict) or not isinstance(text, str) or not text:
            return _graph_error("(#100) The parameter recipient and message.text are required", 100)
        now = self.clock()
        with self.lock:
            if "comment_id" in recipient or "post_id" in recipient:
                key = "comment_id" if "comment_id" in recipient else "post_id"
                comment = self.comments.get(recipient[key]) if key == "comment_id" else self.posts.get(recipient[key])
                if comment is None or (key == "post_id" and comment["kind"] != "visitor"):
                    return _graph_error(f"(#100) Invalid {key}", 100)
                comment.setdefault("private_replied", False)
                if comment["private_replied"]:
                    return _graph_error("(#10900) Activity already replied to", 10900)
                if now - datetime.strptime(comment["created_time"], "%Y-%m-%dT%H:%M:%S+0000") > PRIVATE_REPLY_WINDOW:
                    return _graph_error("(#10903) This activity can't be replied to", 10903)
                comment["private_replied"] = True
                person = self.people.get(comment["from"]["id"])
                psid = person["psid"] if person else comment["from"]["id"]
                inbox = self._conversation(psid, comment["from"]["name"])
                message_id = self._add_message(inbox, {"id": self.page_id, "name": self.page_name}, text, None)
                self.posted.append(
                    {"kind": "private_reply", "id": message_id, "text": text, key: recipient[key], "recipient_id": psid}
                )
                return Reply(200, {"recipient_id": psid, "message_id": message_id})
            psid = str(recipient.get("id", ""))
            conversation = next((c for c in self.conversations.values() if c["psid"] == psid), None)
            if conversation is None:
                return _graph_error("(#100) No matching user found", 100, subcode=2018001)
            theirs = [
                m["created_time"]
                for m in self.messages.values()
                if m["conversation_id"] == conversation["id"] and m["from"]["id"] == psid
            ]
            last = datetime.strptime(max(theirs), "%Y-%m-%dT%H:%M:%S+0000") if theirs else None
            if params.get("messaging_type", "RESPONSE") != "MESSAGE_TAG" and (
                last is None or now - last > MESSAGING_WINDOW
            ):
                return _graph_error("(#10) This message is sent outside of allowed window.", 10, subcode=2018278)
            message_id = self._add_message(conversation, {"id": self.page_id, "name": self.page_name}, text, None)
            self.posted.append({"kind": "message", "id": message_id, "text": text, "recipient_id": psid})
        return Reply(200, {"recipient_id": psid, "message_id": message_id})


def _parse(stamp: str) -> int:
    return epoch(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S+0000"))


def _as_epoch(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return epoch(datetime.fromisoformat(value.replace("Z", "")))
    except ValueError:
        return None


def seed_demo(sim: GraphSimulator) -> None:
    """A Page post with a complaint thread, a visitor post, a tag and a Messenger conversation."""
    now = sim.clock()
    post = sim.page_post(
        "Our spring collection is here! 🌸 Free shipping all week.", created_at=now - timedelta(hours=3)
    )
    complaint = sim.comment(
        post,
        "Carlos Ruiz",
        "Ordered last week and the package never arrived. Order 88213.",
        created_at=now - timedelta(minutes=50),
    )
    sim.comment(complaint, "Ana Torres", "Same here, mine is two weeks late!", created_at=now - timedelta(minutes=30))
    sim.comment(post, "Priya Nair", "Do you ship to Canada?", created_at=now - timedelta(minutes=12))
    sim.visitor_post(
        "Tom Becker", "The checkout page keeps failing with my Visa card.", created_at=now - timedelta(minutes=25)
    )
    sim.tagged_post("Lena Vogel", "Loving my new jacket from Acme!", created_at=now - timedelta(hours=1))
    sim.message("Carlos Ruiz", "Hi, my order 88213 is missing. Can you help?", created_at=now - timedelta(minutes=8))
