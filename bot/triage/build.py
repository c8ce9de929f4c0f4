"""Building the triager the config asks for: its encoder, its model directory, the classifier around them."""

from __future__ import annotations

from bot.config import Config
from bot.triage.classifier.encoders import build_encoder
from bot.triage.classifier.store import model_for
from bot.triage.classifier.triager import ClassifierTriager
from bot.triage.decision import Triager


def build_triager(config: Config, model_dir: str | None = None) -> Triager:
    """The classifier the config asks for: its encoder, a trained model directory (else config's, else the default)."""
    model_dir = model_dir or config.triage.model_dir
    encoder = build_encoder(config.triage, model_dir)
    model = model_for(config, encoder, model_dir)
    return ClassifierTriager(config, model, encoder)
