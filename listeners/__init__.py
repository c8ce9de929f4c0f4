"""Listeners: one module per platform; the registry below names every built-in one."""
from __future__ import annotations

from typing import Callable

from bot.clock import Clock
from bot.config import AccountConfig, BrandConfig
from listeners.base import IncomingMention, Listener
from listeners.replay import ReplayListener


def _replay(account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
    return ReplayListener(account.path or "", account.batch_size, clock)


def _x(account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
    from listeners.twitter import XListener

    return XListener(account, brand, clock=clock)


def _facebook(account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
    from listeners.facebook import FacebookListener

    return FacebookListener(account, brand, clock=clock)


BUILTIN_LISTENERS: dict[str, Callable[[AccountConfig, BrandConfig, Clock], Listener]] = {
    "replay": _replay,
    "x": _x,
    "facebook": _facebook,
}


def build_listener(account: AccountConfig, brand: BrandConfig, clock: Clock) -> Listener:
    """The listener for a configured account."""
    return BUILTIN_LISTENERS[account.platform](account, brand, clock)


__all__ = ["BUILTIN_LISTENERS", "IncomingMention", "Listener", "build_listener"]
