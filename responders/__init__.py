"""Responders: one module per platform (x, facebook, replay), each writing to it; bot.platforms.registry lists them."""

from __future__ import annotations

from responders.base import OutgoingMessage, PolicyVerdict, Responder
from responders.sandbox import SandboxResponder

__all__ = ["OutgoingMessage", "PolicyVerdict", "Responder", "SandboxResponder"]
