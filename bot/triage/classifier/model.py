"""A trained model: calibrated heads over one encoder's vector space, and its files (model.json, heads.npz)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.triage.classifier.examples import BUILTIN_HEADS
from bot.triage.classifier.heads import Head
from bot.triage.classifier.memory import Memory

FORMAT = 1


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
        np.savez(handle, allow_pickle=False, **arrays)
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
        raise ModelError(
            f"{directory} is not a trained model (no model.json and heads.npz; "
            "create one with: python -m bot train --model-dir DIR)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}: cannot read the model ({exc})") from None
    if document.get("format") != FORMAT:
        raise ModelError(f"{directory}: model format {document.get('format')!r} is not supported (expected {FORMAT})")
    heads: dict[str, Head] = {}
    memory: dict[str, Memory] = {}
    with arrays:
        for name, spec in document["heads"].items():
            heads[name] = Head(
                name=name,
                labels=list(spec["labels"]),
                weights=arrays[f"{name}.weights"],
                bias=arrays[f"{name}.bias"],
                temperature=float(spec["temperature"]),
            )
            if "memory_threshold" in spec:
                memory[name] = Memory(
                    arrays[f"{name}.memory.vectors"], arrays[f"{name}.memory.labels"], float(spec["memory_threshold"])
                )
    return Model(encoder=document["encoder"], heads=heads, meta=document.get("meta", {}), path=directory, memory=memory)
