"""Responders: one module per platform; the registry below names every built-in one."""
from __future__ import annotations

from typing import Callable

from bot.config import AccountConfig
from responders.base import OutgoingMessage, Responder
from responders.sandbox import SandboxResponder


def _x(account: AccountConfig) -> Responder:
    from responders.twitter import XResponder

    return XResponder(account)


def _facebook(account: AccountConfig) -> Responder:
    from responders.facebook import FacebookResponder

    return FacebookResponder(account)


BUILTIN_RESPONDERS: dict[str, Callable[[AccountConfig], Responder]] = {
    "x": _x,
    "facebook": _facebook,
}


def build_responder(account: AccountConfig) -> Responder:
    """The responder for a configured account: the sandbox unless it sends for real."""
    if not account.sends_for_real:
        return SandboxResponder(account.name)
    return BUILTIN_RESPONDERS[account.platform](account)


__all__ = ["BUILTIN_RESPONDERS", "OutgoingMessage", "Responder", "SandboxResponder", "build_responder"]
