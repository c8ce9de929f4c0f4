"""Talking to the real platforms: the X client wrapper, the Graph API client, rate limits and credentials."""
from __future__ import annotations

from bot.platforms.credentials import credentials_fingerprint, read_secret
from bot.platforms.ratelimit import RateLimitState, RateLimitTracker
from bot.platforms.x_text import X_MAX_LENGTH, x_length

__all__ = ["credentials_fingerprint", "read_secret", "RateLimitState", "RateLimitTracker", "X_MAX_LENGTH", "x_length"]
