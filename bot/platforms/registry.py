"""The platforms mention-desk knows: one line each, built from their listener and responder classes."""

from __future__ import annotations

from bot.platform import Platform
from listeners.facebook import FacebookListener
from listeners.instagram import InstagramListener
from listeners.replay import ReplayListener
from listeners.x import XListener
from responders.facebook import FacebookResponder
from responders.instagram import InstagramResponder
from responders.replay import ReplayResponder
from responders.x import XResponder

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(ReplayListener, ReplayResponder),
        Platform(XListener, XResponder),
        Platform(FacebookListener, FacebookResponder),
        Platform(InstagramListener, InstagramResponder),
    )
}
PLATFORM_NAMES: tuple[str, ...] = tuple(PLATFORMS)
# Every stream any platform offers, for the config schema (each account is checked against its own platform's).
STREAM_NAMES: tuple[str, ...] = tuple(dict.fromkeys(s for p in PLATFORMS.values() for s in p.listener.offered_streams))


def platform_named(name: str) -> Platform:
    """The platform called name; KeyError names the ones there are."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise KeyError(f"no platform {name!r} (there are: {', '.join(PLATFORM_NAMES)})") from None
