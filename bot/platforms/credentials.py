"""Secrets come from environment variables named in config; only their fingerprint is ever stored or shown."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.errors import AuthError

if TYPE_CHECKING:
    from bot.config import AccountConfig

SECRET_FIELDS = (
    "bearer_token_env",
    "access_token_env",
    "access_token_secret_env",
    "consumer_key_env",
    "consumer_secret_env",
    "app_secret_env",
)


def read_secret(
    account: AccountConfig, field: str, environ: Mapping[str, str] | None = None, required: bool = True
) -> str | None:
    """The value of the environment variable named by account.<field>; AuthError when required and missing."""
    env = os.environ if environ is None else environ
    name = getattr(account, field, None)
    value = env.get(name) if name else None
    if not value and required:
        where = f"environment variable {name}" if name else f"setting accounts[{account.name}].{field}"
        raise AuthError(f"account {account.name}: {where} is not set")
    return value or None


def credentials_fingerprint(account: AccountConfig, environ: Mapping[str, str] | None = None) -> str:
    """sha256 over the account's secret values: changes when a person replaces a token, reveals nothing."""
    env = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for field in SECRET_FIELDS:
        name = getattr(account, field, None)
        value = env.get(name, "") if name else ""
        digest.update(field.encode() + b"=" + value.encode("utf-8") + b"\0")
    return digest.hexdigest()
