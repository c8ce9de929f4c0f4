"""What the classifier builds once and keeps between runs: built encoders and the seeds' sentence vectors."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


def cache_dir(configured: str | None = None) -> Path:
    """The configured folder, else $MENTION_DESK_CACHE, else $XDG_CACHE_HOME/mention-desk (~/.cache/mention-desk)."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("MENTION_DESK_CACHE"):
        return Path(os.environ["MENTION_DESK_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mention-desk"


def kept_vectors(folder: Path, encoder_name: str, texts: Sequence[str],
                 encode: Callable[[list[str]], np.ndarray]) -> dict[str, np.ndarray]:
    """Vectors of a fixed set of texts (the seeds) for one encoder, computed once and then read from folder."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    safe = encoder_name.replace("/", "_").replace(":", "_")
    path = folder / "vectors" / f"{safe}-{digest}.npy"
    if path.is_file():
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape[0] == len(texts):
                return dict(zip(texts, vectors.astype(np.float32)))
        except (OSError, ValueError):
            log.warning("cached vectors %s are unreadable; computing them again", path)
    # Kept as float16 (half the disk); rounded the same way on the first run as on every later one.
    vectors = encode(list(texts)).astype(np.float16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            np.save(handle, vectors)
        temporary.replace(path)
    except OSError as exc:
        log.warning("cannot keep the seeds' vectors in %s (%s); they will be computed again next time", path, exc)
    return dict(zip(texts, vectors.astype(np.float32)))
