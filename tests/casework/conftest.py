"""Simulator fixtures for these tests."""

from bot.simulators.pytest_fixtures import graph_sim, instagram_sim, x_sim  # noqa: F401 - fixtures
