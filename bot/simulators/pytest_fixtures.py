"""pytest fixtures that run the simulators for one test: import them into a conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.simulators import FACEBOOK_ENV, X_ENV, GraphSimulator, InstagramSimulator, XSimulator


@pytest.fixture
def x_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[XSimulator]:
    """A fake X API on 127.0.0.1 with the simulator's tokens in the environment."""
    for name, value in X_ENV.items():
        monkeypatch.setenv(name, value)
    with XSimulator() as sim:
        yield sim


@pytest.fixture
def graph_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphSimulator]:
    """A fake Graph API on 127.0.0.1 with the simulator's Page token in the environment."""
    for name, value in FACEBOOK_ENV.items():
        monkeypatch.setenv(name, value)
    with GraphSimulator() as sim:
        yield sim


@pytest.fixture
def instagram_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstagramSimulator]:
    """A fake Instagram Graph API on 127.0.0.1 with the linked Page's simulated token in the environment."""
    for name, value in FACEBOOK_ENV.items():
        monkeypatch.setenv(name, value)
    with InstagramSimulator() as sim:
        yield sim
