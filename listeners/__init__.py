"""Listeners: one module per platform (x, facebook, replay), each reading from it; bot.platforms.registry lists them."""

from __future__ import annotations

from listeners.base import IncomingMention, Listener

__all__ = ["IncomingMention", "Listener"]
