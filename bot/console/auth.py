"""Console logins: server-side sessions behind a signed cookie, CSRF tokens, roles, API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select

from bot.config import Config
from bot.storage import users
from bot.storage.db import transaction
from bot.storage.models import ConsoleSession, User

SESSION_COOKIE = "md_session"
LOGIN_COOKIE = "md_login"
FLASH_COOKIE = "md_flash"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SECRET_FILE = "console_secret"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SEEN_EVERY = timedelta(minutes=1)


def session_secret(config: Config) -> str:
    """The secret that signs cookies: from the named env var, or a random one kept in data_dir (mode 0600)."""
    from_env = os.environ.get(config.console.session_secret_env)
    if from_env:
        return from_env
    path = Path(config.data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    # O_EXCL: two processes starting at once keep the first secret instead of overwriting each other's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


@dataclass
class Viewer:
    """The person behind a request, as the pages and the API need them."""

    id: int
    username: str
    display_name: str
    role: str
    csrf: str = ""

    def can(self, permission: str) -> bool:
        """True when the role grants the permission."""
        return permission in users.PERMISSIONS.get(self.role, set())


class NotLoggedIn(Exception):
    """The request has no valid session; pages redirect to the login form."""


class Forbidden(Exception):
    """The user's role does not allow this action."""

    def __init__(self, permission: str, role: str):
        super().__init__(f"a {role} cannot do this (it needs the '{permission}' permission)")
        self.permission = permission


class Sessions:
    """Creates, finds and ends console sessions, and signs and checks the tokens that go with them."""

    def __init__(self, service, secret: str):
        self.service = service
        self.config = service.config.console
        self.signer = URLSafeSerializer(secret, salt="mention-desk-session")
        self.secret = secret.encode()

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def csrf_for(self, token: str) -> str:
        """The CSRF token bound to a session (or pre-login) token."""
        return hmac.new(self.secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def _secure(self, request: Request) -> bool:
        mode = self.config.secure_cookies
        return mode == "always" or (mode == "auto" and request.url.scheme == "https")

    def set_cookie(self, request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
        """Set an HttpOnly cookie with the configured SameSite, Secure over https."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite=self.config.same_site,
            secure=self._secure(request),
            path="/",
        )

    def login_token(self, request: Request, response: Response) -> str:
        """The pre-login token (double-submit) that protects the login form itself from CSRF."""
        token = self._unsign(request.cookies.get(LOGIN_COOKIE))
        if not token:
            token = secrets.token_urlsafe(24)
            self.set_cookie(request, response, LOGIN_COOKIE, self.signer.dumps(token), max_age=3600)
        return self.csrf_for(token)

    def check_login_csrf(self, request: Request, submitted: str | None) -> bool:
        """True when the login form came from our own login page."""
        token = self._unsign(request.cookies.get(LOGIN_COOKIE))
        return bool(token and submitted and hmac.compare_digest(self.csrf_for(token), submitted))

    def _unsign(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            token = self.signer.loads(value)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def start(self, request: Request, response: Response, user: User) -> None:
        """Open a session for a user who just logged in, and set its cookie."""
        token = secrets.token_urlsafe(32)
        now = self.service.clock.now()
        with transaction(self.service.factory) as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            session.add(
                ConsoleSession(
                    token_hash=self._hash(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.config.session_hours),
                    last_seen_at=now,
                )
            )
        self.set_cookie(
            request, response, SESSION_COOKIE, self.signer.dumps(token), max_age=int(self.config.session_hours * 3600)
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")

    def end(self, request: Request, response: Response) -> None:
        """Log out: forget the session server-side and clear the cookie."""
        token = self._unsign(request.cookies.get(SESSION_COOKIE))
        if token:
            with transaction(self.service.factory) as session:
                session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == self._hash(token)))
        response.delete_cookie(SESSION_COOKIE, path="/")

    def end_all_for(self, user_id: int) -> None:
        """End every session of a user (disabled account, new password)."""
        with transaction(self.service.factory) as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))

    def viewer(self, request: Request) -> Viewer | None:
        """The logged-in person behind a request, or None."""
        token = self._unsign(request.cookies.get(SESSION_COOKIE))
        if not token:
            return None
        now = self.service.clock.now()
        with transaction(self.service.factory) as session:
            row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == self._hash(token)))
            if row is None or row.expires_at <= now:
                return None
            user = row.user
            if not user.active:
                return None
            if now - row.last_seen_at >= SEEN_EVERY:
                row.last_seen_at = now
            return Viewer(user.id, user.username, user.display_name or user.username, user.role, self.csrf_for(token))

    def check_csrf(self, request: Request, viewer: Viewer, submitted: str | None) -> None:
        """Refuse a state-changing request whose CSRF token is missing or wrong."""
        if not submitted or not hmac.compare_digest(viewer.csrf, submitted):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")

    def flash(self, request: Request, response: Response, kind: str, message: str) -> None:
        """A one-time message shown on the next page."""
        self.set_cookie(request, response, FLASH_COOKIE, self.signer.dumps([kind, message[:500]]), max_age=60)

    def take_flash(self, request: Request) -> tuple[str, str] | None:
        """The pending one-time message, if any (the page clears it)."""
        value = request.cookies.get(FLASH_COOKIE)
        if not value:
            return None
        try:
            kind, message = self.signer.loads(value)
        except (BadSignature, ValueError, TypeError):
            return None
        return str(kind), str(message)


def bearer_viewer(service, request: Request) -> Viewer | None:
    """The user an `Authorization: Bearer <token>` header belongs to, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with transaction(service.factory) as session:
        user = users.user_for_token(session, token.strip())
        if user is None:
            return None
        return Viewer(user.id, user.username, user.display_name or user.username, user.role)
