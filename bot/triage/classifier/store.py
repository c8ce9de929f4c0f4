"""Trained models on disk (model.json + heads.npz) and the default model every fresh install starts with."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.triage.classifier.cache import cache_dir, kept_vectors
from bot.triage.classifier.encoders import Encoder
from bot.triage.classifier.examples import (
    BUILTIN_HEADS,
    SEEDS_DIR,
    Example,
    TrainingDataError,
    fingerprint,
    load_training_file,
    seed_examples,
    shipped_custom_seeds,
)
from bot.triage.classifier.model import Model, ModelError, load_model, save_model
from bot.triage.classifier.training import encode_texts, train_model

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)
# Bump when training changes in a way that makes cached first-use models stale.
TRAINING_VERSION = "2"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
# The same heads fitted on the light encoder's vectors, so that triage.encoder: use starts without training.
SHIPPED_USE_DIR = SHIPPED_MODEL_DIR / "use"
SHIPPED_CUSTOM_HEADS = ("outage", "churn_risk")


def seeds_fingerprint(encoder_name: str) -> str:
    """Identifies the shipped seeds, the encoder and the training code a default model was built from."""
    return fingerprint(SEEDS_DIR.rglob("*.jsonl"), f"{encoder_name}|{TRAINING_VERSION}")


def shipped_examples() -> list[Example]:
    """Every shipped seed: the built-in heads' and the shipped custom heads'."""
    examples = seed_examples()
    for head in SHIPPED_CUSTOM_HEADS:
        path = shipped_custom_seeds(head)
        if path is not None:
            examples.extend(load_training_file(path, head, source="seed"))
    return examples


def seed_vectors(encoder: Encoder, folder: str | None = None, progress=None) -> dict[str, np.ndarray]:
    """The sentence vectors of every shipped seed text for this encoder, computed once and kept in the cache folder."""

    texts = list(dict.fromkeys(example.text for example in shipped_examples()))
    return kept_vectors(cache_dir(folder), encoder.name, texts, lambda batch: encode_texts(encoder, batch, progress))


_MEMO: dict[str, Model] = {}
_MEMO_LOCK = threading.Lock()


def _cached(key: str, build) -> Model:
    with _MEMO_LOCK:
        model = _MEMO.get(key)
        if model is None:
            model = build()
            _MEMO[key] = model
        return model


def _trained_or_cached(
    directory: Path, examples: list[Example], encoder: Encoder, what: str, known: dict[str, np.ndarray] | None = None
) -> Model:
    """A model trained from examples, reused from directory when it was trained before."""

    if (directory / "model.json").is_file():
        try:
            return load_model(directory)
        except ModelError:
            log.warning("cached model in %s is unreadable; training it again", directory)
    log.info("training %s for encoder %s (first use; cached in %s)", what, encoder.name, directory)
    model = train_model(encoder, examples, known=known)
    model.meta["fingerprint"] = directory.name.rsplit("-", 1)[-1]
    save_model(model, directory)
    return model


def default_model(config: Config, encoder: Encoder) -> Model:
    """The shipped heads (or, for another encoder, heads trained from the seeds at first use) plus config's custom heads."""
    seeds_id = seeds_fingerprint(encoder.name)
    models_dir = Path(config.data_dir) / "models"

    def builtin() -> Model:
        candidates = [load_model(d) for d in (SHIPPED_MODEL_DIR, SHIPPED_USE_DIR) if (d / "model.json").is_file()]
        shipped = next((model for model in candidates if model.encoder == encoder.name), None)
        if shipped is not None:
            if shipped.meta.get("fingerprint") == seeds_id:
                return shipped
            log.warning(
                "the shipped model is older than the seeds; training from the seeds instead "
                "(rebuild it with: python -m bot.triage.classifier.build_default)"
            )
        safe = encoder.name.replace("/", "_").replace(":", "_")
        return _trained_or_cached(
            models_dir / f"seeds-{safe}-{seeds_id}",
            shipped_examples(),
            encoder,
            "the seed model",
            seed_vectors(encoder, config.triage.encoder_cache_dir),
        )

    base = _cached(f"seeds|{encoder.name}|{seeds_id}|{models_dir}", builtin)
    heads = {name: base.heads[name] for name in BUILTIN_HEADS}
    memory = {name: base.memory[name] for name in BUILTIN_HEADS if name in base.memory}
    for custom in config.triage.custom_heads:
        if custom.data:
            trained = _custom_head(custom, encoder, models_dir)
            heads[custom.name] = trained.heads[custom.name]
            if custom.name in trained.memory:
                memory[custom.name] = trained.memory[custom.name]
        elif custom.name in base.heads:
            heads[custom.name] = base.heads[custom.name]
        else:
            raise ModelError(
                f"triage.custom_heads: {custom.name!r} has no 'data' files and no shipped seeds "
                f"(shipped: {', '.join(SHIPPED_CUSTOM_HEADS)})"
            )
    return Model(encoder=encoder.name, heads=heads, meta=dict(base.meta), path=base.path, memory=memory)


def _custom_head(custom, encoder: Encoder, models_dir: Path) -> Model:
    """A model holding a config-declared custom head trained from its data files, cached by their content."""
    paths = [Path(p) for p in custom.data]
    for path in paths:
        if not path.is_file():
            raise TrainingDataError(f"triage.custom_heads {custom.name}: data file {path} not found")
    head_id = fingerprint(paths, f"{custom.name}|{','.join(custom.labels)}|{encoder.name}|{TRAINING_VERSION}")

    def build() -> Model:
        examples = [e for path in paths for e in load_training_file(path, custom.name, custom.labels or None)]
        safe = encoder.name.replace("/", "_").replace(":", "_")
        return _trained_or_cached(
            models_dir / f"head-{custom.name}-{safe}-{head_id}", examples, encoder, f"custom head {custom.name}"
        )

    return _cached(f"head|{custom.name}|{head_id}|{models_dir}", build)


def model_for(config: Config, encoder: Encoder, model_dir: str | None = None) -> Model:
    """The model triage uses: a trained directory when given (checked against the encoder), else the default."""
    if not model_dir:
        return default_model(config, encoder)
    directory = Path(model_dir)
    model = _cached(f"dir|{directory.resolve()}|{_mtime(directory)}", lambda: load_model(directory))
    missing = [head for head in BUILTIN_HEADS if head not in model.heads]
    if missing:
        raise ModelError(f"{directory} lacks the built-in head(s) {', '.join(missing)}; retrain it with the seeds")
    if model.encoder != encoder.name:
        raise ModelError(
            f"{directory} was trained for encoder {model.encoder!r} but triage.encoder gives "
            f"{encoder.name!r}; retrain it or change triage.encoder"
        )
    return model


def _mtime(directory: Path) -> float:
    try:
        return (directory / "heads.npz").stat().st_mtime
    except OSError:
        return 0.0
