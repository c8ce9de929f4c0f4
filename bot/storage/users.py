"""People who use the console: roles, argon2 password hashes, lockout after failed logins, hashed API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.storage import audit
from bot.storage.models import User

ROLES = ("agent", "approver", "admin")
# What each role may do; a higher role can do everything a lower one can.
_AGENT = {"view", "edit", "triage", "case", "link", "note", "tag", "use_macros"}
_APPROVER = _AGENT | {"approve", "reject", "moderate"}
PERMISSIONS = {
    "agent": _AGENT,
    "approver": _APPROVER,
    "admin": _APPROVER | {"manage_users", "settings", "manage_macros"},
}
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "mdk_"
_hasher = PasswordHasher()
_dummy: dict[str, str] = {}


class LoginRefused(UserError):
    """Wrong name or password, or a locked or disabled account; the message never says which name exists."""


@dataclass
class LoginPolicy:
    """How many failures lock an account, and for how long."""

    max_failed: int = 5
    lockout_minutes: int = 15


def can(user: User, permission: str) -> bool:
    """True when the user's role grants the permission."""
    return user.active and permission in PERMISSIONS.get(user.role, set())


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def check_password_strength(password: str, username: str) -> None:
    """Refuse passwords a person should not use."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.lower() == username.lower():
        raise UserError("the password must not be the user name")


def get_user(session: Session, username: str) -> User | None:
    """The user with this name (case-insensitive), or None."""
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def count_users(session: Session) -> int:
    """How many users exist."""
    return session.scalar(select(func.count(User.id))) or 0


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime,
    actor: str,
    display_name: str | None = None,
) -> User:
    """Create a user with a hashed password; the name must be new and the role known."""
    username = username.strip()
    if not username or not all(ch.isalnum() or ch in "-_." for ch in username):
        raise UserError("a user name uses letters, digits, '-', '_' and '.' only")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if get_user(session, username) is not None:
        raise UserError(f"there is already a user named {username!r}")
    check_password_strength(password, username)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
        capacity=10,
        on_shift=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, now, actor, "user_create", "user", user.id, username=username, role=role)
    return user


def set_password(session: Session, user: User, password: str, now: datetime, actor: str) -> None:
    """Replace a user's password and unlock the account."""
    check_password_strength(password, user.username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, now, actor, "user_password", "user", user.id)


def update_user(
    session: Session, user: User, now: datetime, actor: str, role: str | None = None, active: bool | None = None
) -> None:
    """Change a user's role or switch the account on or off; the last active admin stays."""
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    losing_admin = user.role == "admin" and user.active and ((role and role != "admin") or active is False)
    if losing_admin:
        admins = session.scalar(select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))) or 0
        if admins <= 1:
            raise UserError("this is the last active admin; make another admin first")
    changes: dict[str, list[str | bool]] = {}
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
        if active:
            user.failed_logins = 0
            user.locked_until = None
    if changes:
        audit.record(session, now, actor, "user_update", "user", user.id, **changes)


def authenticate(
    session: Session, username: str, password: str, now: datetime, policy: LoginPolicy | None = None
) -> User:
    """The user whose name and password match; counts failures and locks the account after too many."""
    policy = policy or LoginPolicy()
    user = get_user(session, username) if username else None
    if user is None or not user.password_hash:
        # Verifying against a dummy hash keeps a login for an unknown name as slow as one for a known name.
        _verify(_dummy_hash(), password)
        raise LoginRefused("wrong user name or password")
    if user.locked_until and user.locked_until > now:
        raise LoginRefused(f"too many failed logins; the account is locked until {user.locked_until:%H:%M} UTC")
    if not _verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= policy.max_failed:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            audit.record(session, now, "system", "user_locked", "user", user.id, minutes=policy.lockout_minutes)
            raise LoginRefused(f"too many failed logins; the account is locked until {user.locked_until:%H:%M} UTC")
        raise LoginRefused("wrong user name or password")
    if not user.active:
        raise LoginRefused("this account is disabled; ask an admin")
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _dummy_hash() -> str:
    if "hash" not in _dummy:
        _dummy["hash"] = _hasher.hash(secrets.token_hex(16))
    return _dummy["hash"]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    # A token has 256 random bits, so a fast hash is enough; argon2 would make every API call slow.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, now: datetime, actor: str) -> str:
    """A new API token for the user (shown once; only its hash is kept); replaces any older token."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = _token_hash(token)
    audit.record(session, now, actor, "api_token_issue", "user", user.id)
    return token


def revoke_api_token(session: Session, user: User, now: datetime, actor: str) -> None:
    """Forget the user's API token."""
    user.api_token_hash = None
    audit.record(session, now, actor, "api_token_revoke", "user", user.id)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user an API token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    user = session.scalar(select(User).where(User.api_token_hash == _token_hash(token)))
    if user is None or not user.active:
        return None
    return user
