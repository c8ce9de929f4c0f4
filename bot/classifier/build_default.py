"""Rebuild the shipped default model from the shipped seeds: `python -m bot.classifier.build_default`."""
from __future__ import annotations

import sys

from bot.classifier.encoders import UseEncoder
from bot.classifier.store import SHIPPED_MODEL_DIR, save_model, seeds_fingerprint, shipped_examples
from bot.classifier.training import train_model


def build() -> None:
    """Train every shipped head on the seeds (never on any other data) and write bot/classifier/default_model."""
    encoder = UseEncoder()
    model = train_model(encoder, shipped_examples())
    model.meta["fingerprint"] = seeds_fingerprint(encoder.name)
    model.meta["trained_on"] = "bot/classifier/seeds only"
    model.meta.pop("trained_at", None)
    save_model(model, SHIPPED_MODEL_DIR)
    sys.stdout.write(f"wrote {SHIPPED_MODEL_DIR} ({', '.join(model.heads)}; {model.meta['texts']} texts)\n")


if __name__ == "__main__":
    build()
