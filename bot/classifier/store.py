"""Trained models on disk (model.json + heads.npz) and the default model every fresh install starts with."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.classifier.encoders import Encoder
from bot.classifier.examples import (BUILTIN_HEADS, SEEDS_DIR, Example, TrainingDataError, fingerprint,
                                     load_training_file, seed_examples, shipped_custom_seeds)
from bot.classifier.heads import Head
from bot.classifier.memory import Memory

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)
FORMAT = 1
# Bump when training changes in a way that makes cached first-use models stale.
TRAINING_VERSION = "1"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "default_model"
# The same heads fitted on the light encoder's vectors, so that triage.encoder: use starts without training.
SHIPPED_USE_DIR = SHIPPED_MODEL_DIR / "use"
SHIPPED_CUSTOM_HEADS = ("outage", "churn_risk")


class ModelError(Exception):
    """A model directory is missing, unreadable or made for another encoder."""


@dataclass
class Model:
    """Calibrated heads over one encoder's vector space, with what they were trained from."""

    encoder: str
    heads: dict[str, Head]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    memory: dict[str, Memory] = field(default_factory=dict)

    def probabilities(self, head: str, vectors: np.ndarray) -> np.ndarray:
        """One head's calibrated probabilities, moved toward the labels of remembered examples close by."""
        probabilities = self.heads[head].probabilities(vectors)
        if head in self.memory:
            probabilities = self.memory[head].blend(probabilities, vectors)[0]
        return probabilities

    @property
    def custom_heads(self) -> list[str]:
        """Heads beyond the built-in five, in a stable order."""
        return sorted(name for name in self.heads if name not in BUILTIN_HEADS)

    @property
    def label(self) -> str:
        """A short name for reports: the encoder and the model's fingerprint."""
        return f"{self.encoder}+heads:{self.meta.get('fingerprint', 'custom')}"


def save_model(model: Model, directory: str | Path) -> Path:
    """Write model.json and heads.npz into directory (created if missing)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    heads: dict[str, Any] = {}
    for name, head in model.heads.items():
        arrays[f"{name}.weights"] = head.weights.astype(np.float32)
        arrays[f"{name}.bias"] = head.bias.astype(np.float32)
        heads[name] = {"labels": head.labels, "temperature": head.temperature}
        if name in model.memory:
            arrays[f"{name}.memory.vectors"] = model.memory[name].vectors.astype(np.float16)
            arrays[f"{name}.memory.labels"] = model.memory[name].labels.astype(np.int32)
            heads[name]["memory_threshold"] = model.memory[name].threshold
    document = {"format": FORMAT, "encoder": model.encoder, "heads": heads, "meta": model.meta}
    temporary = directory / "heads.npz.tmp"
    with temporary.open("wb") as handle:
        np.savez(handle, **arrays)
    temporary.replace(directory / "heads.npz")
    (directory / "model.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    model.path = directory
    return directory


def load_model(directory: str | Path) -> Model:
    """Read a model written by save_model; ModelError says what is wrong."""
    directory = Path(directory)
    try:
        document = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "heads.npz", allow_pickle=False)
    except FileNotFoundError:
        raise ModelError(f"{directory} is not a trained model (no model.json and heads.npz; "
                         "create one with: python -m bot train --model-dir DIR)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}: cannot read the model ({exc})") from None
    if document.get("format") != FORMAT:
        raise ModelError(f"{directory}: model format {document.get('format')!r} is not supported (expected {FORMAT})")
    heads: dict[str, Head] = {}
    memory: dict[str, Memory] = {}
    with arrays:
        for name, spec in document["heads"].items():
            heads[name] = Head(name=name, labels=list(spec["labels"]), weights=arrays[f"{name}.weights"],
                               bias=arrays[f"{name}.bias"], temperature=float(spec["temperature"]))
            if "memory_threshold" in spec:
                memory[name] = Memory(arrays[f"{name}.memory.vectors"], arrays[f"{name}.memory.labels"],
                                      float(spec["memory_threshold"]))
    return Model(encoder=document["encoder"], heads=heads, meta=document.get("meta", {}), path=directory,
                 memory=memory)


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
    from bot.classifier.cache import cache_dir, kept_vectors
    from bot.classifier.training import encode_texts

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


def _trained_or_cached(directory: Path, examples: list[Example], encoder: Encoder, what: str,
                       known: dict[str, np.ndarray] | None = None) -> Model:
    """A model trained from examples, reused from directory when it was trained before."""
    from bot.classifier.training import train_model

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


def default_model(config: "Config", encoder: Encoder) -> Model:
    """The shipped heads (or, for another encoder, heads trained from the seeds at first use) plus config's custom heads."""
    seeds_id = seeds_fingerprint(encoder.name)
    models_dir = Path(config.data_dir) / "models"

    def builtin() -> Model:
        candidates = [load_model(d) for d in (SHIPPED_MODEL_DIR, SHIPPED_USE_DIR) if (d / "model.json").is_file()]
        shipped = next((model for model in candidates if model.encoder == encoder.name), None)
        if shipped is not None:
            if shipped.meta.get("fingerprint") == seeds_id:
                return shipped
            log.warning("the shipped model is older than the seeds; training from the seeds instead "
                        "(rebuild it with: python -m bot.classifier.build_default)")
        safe = encoder.name.replace("/", "_").replace(":", "_")
        return _trained_or_cached(models_dir / f"seeds-{safe}-{seeds_id}", shipped_examples(), encoder, "the seed model",
                                  seed_vectors(encoder, config.triage.encoder_cache_dir))

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
            raise ModelError(f"triage.custom_heads: {custom.name!r} has no 'data' files and no shipped seeds "
                             f"(shipped: {', '.join(SHIPPED_CUSTOM_HEADS)})")
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
        return _trained_or_cached(models_dir / f"head-{custom.name}-{safe}-{head_id}", examples, encoder,
                                  f"custom head {custom.name}")

    return _cached(f"head|{custom.name}|{head_id}|{models_dir}", build)


def model_for(config: "Config", encoder: Encoder, model_dir: str | None = None) -> Model:
    """The model triage uses: a trained directory when given (checked against the encoder), else the default."""
    if not model_dir:
        return default_model(config, encoder)
    directory = Path(model_dir)
    model = _cached(f"dir|{directory.resolve()}|{_mtime(directory)}", lambda: load_model(directory))
    missing = [head for head in BUILTIN_HEADS if head not in model.heads]
    if missing:
        raise ModelError(f"{directory} lacks the built-in head(s) {', '.join(missing)}; retrain it with the seeds")
    if model.encoder != encoder.name:
        raise ModelError(f"{directory} was trained for encoder {model.encoder!r} but triage.encoder gives "
                         f"{encoder.name!r}; retrain it or change triage.encoder")
    return model


def _mtime(directory: Path) -> float:
    try:
        return (directory / "heads.npz").stat().st_mtime
    except OSError:
        return 0.0
