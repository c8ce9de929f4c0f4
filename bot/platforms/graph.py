"""A small typed Graph API client over httpx: the calls the Facebook listener and responder need, errors mapped."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from bot.clock import Clock, SystemClock
from bot.errors import AuthError, PermanentError, TransientError, UnknownOutcome
from bot.platforms.credentials import credentials_fingerprint, read_secret
from bot.platforms.ratelimit import RateLimitState, RateLimitTracker, parse_meta_headers

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)

GRAPH_API = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Graph error codes: 190 = access token invalid or expired; the rest are throttling or temporary trouble.
AUTH_CODES = {190, 102}
THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014}
TEMPORARY_CODES = {1, 2}


def _object(value: Any) -> dict[str, Any]:
    """A field of an answer that should be a JSON object: itself if it is one, else empty."""
    return value if isinstance(value, dict) else {}


@dataclass
class GraphPage:
    """One page of an edge: its items and the cursor to the next page (None at the end)."""

    items: list[Any]
    next_after: str | None


class GraphClient:
    """Graph API calls for one Page token; raises only TransientError, AuthError, PermanentError, UnknownOutcome."""

    def __init__(
        self,
        account: AccountConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        version: str = GRAPH_VERSION,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.account = account
        self.clock = clock or SystemClock()
        self.version = version
        self.rate_limits = RateLimitTracker()
        self.api_calls = 0
        self.environ = environ
        self._fingerprint: str | None = None
        self._proof: str | None = None
        base = (account.api_base_url or GRAPH_API).rstrip("/")
        self.http = httpx.Client(base_url=f"{base}/{version}", timeout=timeout, transport=transport)

    def _load_credentials(self) -> None:
        """Read the Page token (AuthError when missing) and refresh it when the environment's value changed."""
        fingerprint = credentials_fingerprint(self.account, self.environ)
        if fingerprint == self._fingerprint:
            return
        token = read_secret(self.account, "access_token_env", self.environ) or ""
        app_secret = read_secret(self.account, "app_secret_env", self.environ, required=False)
        # appsecret_proof proves the token is used by our app's server (Meta recommends it for Page tokens).
        self._proof = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest() if app_secret else None
        self.http.headers["Authorization"] = f"Bearer {token}"
        self._fingerprint = fingerprint

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, bucket: str = "*") -> dict[str, Any]:
        """GET a node or edge as a JSON object."""
        return self._request("GET", path, params=dict(params or {}), bucket=bucket, sending=False)

    def post(
        self,
        path: str,
        *,
        data: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        bucket: str = "*",
    ) -> dict[str, Any]:
        """POST to a node or edge; a timeout raises UnknownOutcome because it may have been carried out."""
        return self._request(
            "POST",
            path,
            data=dict(data) if data else None,
            json=dict(json) if json else None,
            bucket=bucket,
            sending=True,
        )

    def get_page(self, path: str, params: Mapping[str, Any] | None = None, *, bucket: str = "*") -> GraphPage:
        """GET an edge: its data list and the after-cursor when there is a next page."""
        body = self.get(path, params, bucket=bucket)
        data = body.get("data")
        if not isinstance(data, list):
            raise TransientError(f"Graph {path}: response has no data list")
        paging = _object(body.get("paging"))
        cursors = _object(paging.get("cursors"))
        after = cursors.get("after") if paging.get("next") else None
        return GraphPage(data, after if isinstance(after, str) else None)

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, max_pages: int = 5, bucket: str = "*"
    ) -> Iterator[GraphPage]:
        """Follow the after-cursor for up to max_pages pages."""
        params = dict(params or {})
        for _ in range(max_pages):
            page = self.get_page(path, params, bucket=bucket)
            yield page
            if not page.next_after:
                return
            params["after"] = page.next_after

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        bucket: str,
        sending: bool,
    ) -> dict[str, Any]:
        now = self.clock.now()
        wait = self.rate_limits.wait_seconds(bucket, now)
        if wait:
            raise TransientError(
                f"Graph {bucket}: usage at the limit, access regained in {wait:.0f} s", retry_after=wait
            )
        self._load_credentials()
        params = dict(params or {})
        if self._proof:
            params["appsecret_proof"] = self._proof
        label = f"Graph {method} {path.split('?')[0]}"
        try:
            response = self.http.request(method, "/" + path.lstrip("/"), params=params, data=data, json=json)
        except httpx.ConnectTimeout:
            raise TransientError(f"{label}: connection timed out") from None
        except httpx.TimeoutException:
            if sending:
                raise UnknownOutcome(f"{label}: timed out waiting for the answer") from None
            raise TransientError(f"{label}: timed out") from None
        except httpx.ConnectError:
            raise TransientError(f"{label}: cannot connect") from None
        except httpx.TransportError:
            if sending:
                raise UnknownOutcome(f"{label}: connection lost after sending") from None
            raise TransientError(f"{label}: connection lost") from None
        self.api_calls += 1
        usage = parse_meta_headers(response.headers, self.clock.now())
        self.rate_limits.record("*", usage)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise self._error(label, response, body, usage, sending)
        if not isinstance(body, dict):
            if sending:
                raise UnknownOutcome(f"{label}: unreadable answer after sending")
            raise TransientError(f"{label}: malformed JSON in the response")
        return body

    def _error(
        self, label: str, response: httpx.Response, body: Any, usage: RateLimitState | None, sending: bool
    ) -> Exception:
        error = _object(body.get("error")) if isinstance(body, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        subcode = error.get("error_subcode")
        message = str(error.get("message") or response.reason_phrase)[:300]
        what = f"{label}: {response.status_code} (#{code}{'/' + str(subcode) if subcode else ''}) {message}"
        if code in AUTH_CODES or response.status_code == 401:
            return AuthError(what)
        if code in THROTTLE_CODES or response.status_code == 429:
            retry_after = usage.regain_seconds if usage and usage.regain_seconds else None
            if retry_after is None and response.headers.get("retry-after", "").isdigit():
                retry_after = float(response.headers["retry-after"])
            self.rate_limits.record(
                "*", RateLimitState(usage_percent=100.0, updated_at=self.clock.now(), regain_seconds=retry_after)
            )
            return TransientError(what, retry_after=retry_after or 300.0)
        if code in TEMPORARY_CODES or error.get("is_transient") or response.status_code >= 500:
            if sending and response.status_code in (503, 504):
                return UnknownOutcome(what)
            return TransientError(what)
        return PermanentError(what)
