"""tweepy's Client, pointed at api_base_url through a requests transport adapter, with errors mapped to bot.errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from bot.clock import Clock, SystemClock
from bot.errors import AuthError, PermanentError, TransientError, UnknownOutcome
from bot.platforms.credentials import credentials_fingerprint, read_secret
from bot.platforms.ratelimit import RateLimitTracker, parse_x_headers, x_retry_after

if TYPE_CHECKING:
    from bot.config import AccountConfig

log = logging.getLogger(__name__)
# tweepy and the OAuth libraries log headers and signing input (tokens included) at DEBUG: keep them above it.
for _name in ("tweepy.client", "oauthlib", "requests_oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)

X_API = "https://api.twitter.com"
DEFAULT_TIMEOUT_SECONDS = 10.0


class BaseUrlAdapter(HTTPAdapter):
    """A requests transport adapter that sends what tweepy addresses to api.twitter.com to another base URL.

    tweepy has no base-URL setting; mounting this on the client's session keeps every tweepy code path
    (auth, parameters, error classes) while the bytes go to a simulator or proxy. It also applies a timeout
    (tweepy sets none) and hands every response's headers to a callback for rate-limit tracking.
    """

    def __init__(
        self,
        base_url: str | None,
        timeout: float | tuple[float, float],
        on_response: Callable[[requests.PreparedRequest, requests.Response], None] | None = None,
    ):
        super().__init__()
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.on_response = on_response

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url and request.url and request.url.startswith(X_API):
            request.url = self.base_url + request.url[len(X_API) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().send(request, **kwargs)
        if self.on_response is not None:
            self.on_response(request, response)
        return response


class XClient:
    """One X account's API access: tweepy calls that raise only TransientError, AuthError, PermanentError, UnknownOutcome."""

    def __init__(
        self,
        account: AccountConfig,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_SECONDS,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ):
        self.account = account
        self.clock = clock or SystemClock()
        self.rate_limits = RateLimitTracker()
        self.api_calls = 0
        self._endpoint = "*"
        self.timeout = timeout
        self.environ = environ
        self._fingerprint: str | None = None
        self._load_credentials()

    def _load_credentials(self) -> None:
        """(Re)build the tweepy client from the environment; cheap to call, it only rebuilds when a secret changed."""
        fingerprint = credentials_fingerprint(self.account, self.environ)
        if fingerprint == self._fingerprint:
            return
        account, environ = self.account, self.environ
        self.bearer_token = read_secret(account, "bearer_token_env", environ, required=False)
        self.consumer_key = read_secret(account, "consumer_key_env", environ, required=False)
        self.consumer_secret = read_secret(account, "consumer_secret_env", environ, required=False)
        self.access_token = read_secret(account, "access_token_env", environ, required=False)
        self.access_token_secret = read_secret(account, "access_token_secret_env", environ, required=False)
        self.tweepy = tweepy.Client(
            bearer_token=self.bearer_token,
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            access_token=self.access_token,
            access_token_secret=self.access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,
        )  # the poller waits, never a sleeping thread
        adapter = BaseUrlAdapter(account.api_base_url, self.timeout, self._record_headers)
        self.tweepy.session.mount(X_API, adapter)
        self._fingerprint = fingerprint

    @property
    def has_user_context(self) -> bool:
        """True when OAuth 1.0a user credentials are configured (needed to post and to read DMs)."""
        return all((self.consumer_key, self.consumer_secret, self.access_token, self.access_token_secret))

    def _require_user_context(self) -> None:
        if not self.has_user_context:
            missing = [
                f
                for f in ("consumer_key_env", "consumer_secret_env", "access_token_env", "access_token_secret_env")
                if not read_secret(self.account, f, self.environ, required=False)
            ]
            raise AuthError(f"account {self.account.name}: user credentials missing ({', '.join(missing)})")

    def _record_headers(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        self.api_calls += 1
        self.rate_limits.record(self._endpoint, parse_x_headers(response.headers, self.clock.now()))

    def call(
        self, endpoint: str, method: str, *, sending: bool = False, user_auth: bool | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Call tweepy.Client.<method>; endpoint names the rate-limit bucket (e.g. "mentions")."""
        now = self.clock.now()
        wait = self.rate_limits.wait_seconds(endpoint, now)
        if wait:
            raise TransientError(f"X {endpoint}: rate limit spent, resets in {wait:.0f} s", retry_after=wait)
        self._load_credentials()
        if user_auth is None:
            user_auth = sending or not self.bearer_token
        if user_auth:
            self._require_user_context()
        elif not self.bearer_token:
            raise AuthError(f"account {self.account.name}: no bearer token configured")
        self._endpoint = endpoint
        try:
            result = getattr(self.tweepy, method)(user_auth=user_auth, **kwargs)
        except tweepy.TooManyRequests as exc:
            retry_after = x_retry_after(exc.response.headers, self.clock.now())
            raise TransientError(f"X {endpoint}: 429 too many requests", retry_after=retry_after) from None
        except tweepy.Unauthorized:
            raise AuthError(f"X {endpoint}: 401 unauthorized (token revoked or wrong)") from None
        except tweepy.TwitterServerError as exc:
            if sending and exc.response.status_code in (503, 504):
                # A gateway timeout after the request reached X: it may have been posted.
                raise UnknownOutcome(f"X {endpoint}: {exc.response.status_code} after sending") from None
            raise TransientError(f"X {endpoint}: server error {exc.response.status_code}") from None
        except tweepy.HTTPException as exc:
            detail = "; ".join(exc.api_messages)[:300] if exc.api_messages else ""
            raise PermanentError(f"X {endpoint}: {exc.response.status_code} {detail}".strip()) from None
        except requests.exceptions.ConnectTimeout:
            raise TransientError(f"X {endpoint}: connection timed out") from None
        except requests.exceptions.Timeout:
            if sending:
                raise UnknownOutcome(f"X {endpoint}: timed out waiting for the answer") from None
            raise TransientError(f"X {endpoint}: timed out") from None
        except requests.exceptions.ConnectionError as exc:
            if sending and not _never_connected(exc):
                raise UnknownOutcome(f"X {endpoint}: connection lost after sending") from None
            raise TransientError(f"X {endpoint}: cannot connect") from None
        except ValueError:  # requests' JSONDecodeError: a 2xx with a body that is not JSON
            if sending:
                raise UnknownOutcome(f"X {endpoint}: unreadable answer after sending") from None
            raise TransientError(f"X {endpoint}: malformed JSON in the response") from None
        if not isinstance(result, dict):
            if sending:
                raise UnknownOutcome(f"X {endpoint}: unexpected answer after sending")
            raise TransientError(f"X {endpoint}: response is not a JSON object")
        for error in result.get("errors") or []:
            if isinstance(error, dict):
                log.info("X %s: partial error %s", endpoint, str(error.get("title") or error.get("detail"))[:200])
        return result

    def suggested_interval(self) -> float | None:
        """A longer poll interval when a rate-limit window is nearly spent, else None."""
        return self.rate_limits.suggested_interval(self.clock.now())


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection failed before any byte of the request left (refused, DNS)."""
    text = repr(exc)
    return any(marker in text for marker in ("NewConnectionError", "Connection refused", "NameResolutionError"))
