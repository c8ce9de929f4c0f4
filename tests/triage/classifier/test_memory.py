"""What people labelled is remembered: a mention close to a labelled one takes its label, a distant one does not."""

from __future__ import annotations

import numpy as np

from bot.triage.classifier.memory import RANDOM_PAIRS_ABOVE, Memory, threshold_for


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_the_threshold_is_reached_by_almost_no_random_pair_of_reference_vectors():
    rng = np.random.default_rng(0)
    reference = unit(rng.normal(size=(3000, 32)))
    threshold = threshold_for(reference)
    a, b = reference[:1500], reference[1500:]
    assert np.mean(a @ b.T >= threshold) < 5 * RANDOM_PAIRS_ABOVE
    assert 0.0 < threshold < 1.0


def test_a_close_mention_is_moved_to_the_remembered_label_and_a_distant_one_is_not():
    rng = np.random.default_rng(1)
    remembered = unit(rng.normal(size=(2, 16)))
    memory = Memory(remembered.astype(np.float16), np.array([2, 0], dtype=np.int32), threshold=0.9)
    close = unit(remembered[:1] + 0.05 * rng.normal(size=(1, 16)))
    far = unit(rng.normal(size=(1, 16)))
    probabilities = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    blended, label, similarity = memory.blend(probabilities, np.vstack([close, far]))
    assert blended[0].argmax() == 2 and label[0] == 2 and similarity[0] > 0.9
    np.testing.assert_allclose(blended[1], probabilities[1])
    assert label[1] == -1
    np.testing.assert_allclose(blended.sum(axis=1), 1.0)


def test_an_exact_copy_takes_the_label_fully():
    vector = unit(np.ones((1, 8)))
    memory = Memory(vector.astype(np.float16), np.array([1], dtype=np.int32), threshold=0.9)
    blended, _, _ = memory.blend(np.array([[0.9, 0.1]]), vector)
    assert blended[0, 1] > 0.99
