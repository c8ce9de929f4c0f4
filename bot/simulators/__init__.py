"""Local fake X API v2 and Graph API servers, for tests and the demo: the real clients talk to them over HTTP."""

from __future__ import annotations

from typing import Any

from bot.config import AccountConfig
from bot.simulators.base import FAULT_KINDS, Simulator
from bot.simulators.facebook import GraphSimulator
from bot.simulators.instagram import InstagramSimulator
from bot.simulators.x import XSimulator

# Environment variable names and values the simulators accept; the demo and tests set them.
X_ENV = {
    "SIM_X_BEARER_TOKEN": "sim-bearer",
    "SIM_X_CONSUMER_KEY": "sim-consumer-key",
    "SIM_X_CONSUMER_SECRET": "sim-consumer-secret",
    "SIM_X_ACCESS_TOKEN": "sim-access",
    "SIM_X_ACCESS_TOKEN_SECRET": "sim-access-secret",
}
FACEBOOK_ENV = {"SIM_FB_PAGE_TOKEN": "sim-page-token", "SIM_FB_APP_SECRET": "sim-app-secret"}


def x_account(sim: XSimulator, name: str = "acme-x", **overrides: Any) -> AccountConfig:
    """An x account config pointed at the simulator, reading its secrets from X_ENV's variables."""
    handle = "@" + sim.users[sim.brand_user_id]["username"]
    fields: dict[str, Any] = {
        "name": name,
        "platform": "x",
        "user_id": sim.brand_user_id,
        "handle": handle,
        "api_base_url": sim.url,
        "bearer_token_env": "SIM_X_BEARER_TOKEN",
        "consumer_key_env": "SIM_X_CONSUMER_KEY",
        "consumer_secret_env": "SIM_X_CONSUMER_SECRET",
        "access_token_env": "SIM_X_ACCESS_TOKEN",
        "access_token_secret_env": "SIM_X_ACCESS_TOKEN_SECRET",
        "poll_interval_seconds": 60,
    }
    fields.update(overrides)
    return AccountConfig(**fields)


def facebook_account(sim: GraphSimulator, name: str = "acme-fb", **overrides: Any) -> AccountConfig:
    """A facebook account config pointed at the simulator, reading its secrets from FACEBOOK_ENV's variables."""
    fields: dict[str, Any] = {
        "name": name,
        "platform": "facebook",
        "page_id": sim.page_id,
        "handle": sim.page_name,
        "api_base_url": sim.url,
        "access_token_env": "SIM_FB_PAGE_TOKEN",
        "app_secret_env": "SIM_FB_APP_SECRET",
        "poll_interval_seconds": 60,
    }
    fields.update(overrides)
    return AccountConfig(**fields)


def instagram_account(sim: InstagramSimulator, name: str = "acme-ig", **overrides: Any) -> AccountConfig:
    """An instagram account config pointed at the simulator, with the linked Page's token from FACEBOOK_ENV."""
    fields: dict[str, Any] = {
        "name": name,
        "platform": "instagram",
        "ig_user_id": sim.ig_user_id,
        "page_id": sim.page_id,
        "handle": "@" + sim.username,
        "api_base_url": sim.url,
        "access_token_env": "SIM_FB_PAGE_TOKEN",
        "app_secret_env": "SIM_FB_APP_SECRET",
        "poll_interval_seconds": 60,
    }
    fields.update(overrides)
    return AccountConfig(**fields)


__all__ = [
    "FACEBOOK_ENV",
    "FAULT_KINDS",
    "GraphSimulator",
    "InstagramSimulator",
    "Simulator",
    "X_ENV",
    "XSimulator",
    "facebook_account",
    "instagram_account",
    "x_account",
]
