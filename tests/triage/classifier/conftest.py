"""Fixtures for the classifier tests: a config with its own data folder and the default triager, built once."""

from __future__ import annotations

import pytest

from bot.config import Config, parse_config
from bot.triage.build import build_triager
from bot.triage.decision import TriageInput


def make_config(data_dir, **triage) -> Config:
    """A config whose data folder is data_dir, with triage settings on top of the defaults."""
    return parse_config(
        {
            "data_dir": str(data_dir),
            "storage": {"url": f"sqlite:///{data_dir}/bot.storage.db"},
            "brand": {"handles": ["@acme", "@acmesupport"]},
            "triage": triage,
        }
    )


@pytest.fixture(scope="session")
def classifier_config(tmp_path_factory) -> Config:
    """The default config with the two shipped custom heads switched on."""
    return make_config(tmp_path_factory.mktemp("classifier"), custom_heads=[{"name": "outage"}, {"name": "churn_risk"}])


@pytest.fixture(scope="session")
def triager(classifier_config):
    """The default triager: the bundled encoder and the shipped model."""
    return build_triager(classifier_config)


@pytest.fixture(scope="session")
def triage_text(triager):
    """Triage one text (optionally with input fields) and return its Triage."""

    def run(text: str, **fields):
        return triager.triage([TriageInput(id="t", text=text, **fields)])[0]

    return run
