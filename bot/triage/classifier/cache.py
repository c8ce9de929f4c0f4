"""What the classifier builds once and keeps between runs: built encoders and the seeds' sentence vectors."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def cache_dir(configured: str | None = None) -> Path:
    """The configured folder, else $MENTION_DESK_CACHE, else $XDG_CACHE_HOME/mention-desk (~/.cache/mention-desk)."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("MENTION_DESK_CACHE"):
        return Path(os.environ["MENTION_DESK_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mention-desk"


def kept_vectors(
    folder: Path, encoder_name: str, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]
) -> dict[str, np.ndarray]:
    """Vectors of a set of texts (the seeds) for one encoder, kept in folder: only texts not seen before are encoded."""
    if not texts:
        return {}
    safe = encoder_name.replace("/", "_").replace(":", "_")
    path = folder / "vectors" / f"{safe}.npz"
    keys = [hashlib.sha256(text.encode()).hexdigest()[:24] for text in texts]
    kept: dict[str, np.ndarray] = {}
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                kept = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            log.warning("cached vectors %s are unreadable; computing them again", path)
    missing = [text for text, key in zip(texts, keys, strict=True) if key not in kept]
    if missing:
        # Kept as float16 (half the disk), and rounded the same way the first time as every later time.
        for text, vector in zip(missing, encode(list(missing)).astype(np.float16), strict=True):
            kept[hashlib.sha256(text.encode()).hexdigest()[:24]] = vector
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
            with temporary.open("wb") as handle:
                np.savez(handle, keys=np.array(keys), vectors=np.stack([kept[key] for key in keys]))
            temporary.replace(path)
        except OSError as exc:
            log.warning("cannot keep the seeds' vectors in %s (%s); they will be computed again next time", path, exc)
    return {text: kept[key].astype(np.float32) for text, key in zip(texts, keys, strict=True)}
