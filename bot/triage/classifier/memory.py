"""Examples people labelled, remembered as they are: a new mention close to one of them takes its label.

A head fitted on thousands of seeds moves little for a handful of corrections; the memory makes every
correction count at once for the mentions that resemble it (the same complaint sent again, a paraphrase).
"Close" is relative to the encoder: closer than all but one in ten thousand random pairs of seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Share of random seed pairs that may be as close as a remembered match (0.01 %).
RANDOM_PAIRS_ABOVE = 1e-4
_SAMPLE = 2000


@dataclass
class Memory:
    """One head's remembered examples: unit vectors, label indexes, and the similarity from which they count."""

    vectors: np.ndarray  # float16 [n, dim]
    labels: np.ndarray  # int32 [n]
    threshold: float

    def recall(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each vector: the nearest example's label index, its similarity, and its weight (0 when too far)."""
        similarity = vectors @ self.vectors.T.astype(np.float32)
        nearest = similarity.argmax(axis=1)
        best = similarity[np.arange(len(vectors)), nearest]
        weight = np.clip((best - self.threshold) / max(1e-6, 1.0 - self.threshold), 0.0, 1.0)
        return self.labels[nearest], best, weight

    def blend(self, probabilities: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probabilities moved toward the nearest remembered label by its weight; with that label and similarity."""
        label, similarity, weight = self.recall(vectors)
        onehot = np.zeros_like(probabilities)
        onehot[np.arange(len(vectors)), label] = 1.0
        blended = (1.0 - weight[:, None]) * probabilities + weight[:, None] * onehot
        return blended, np.where(weight > 0, label, -1), similarity


def threshold_for(reference: np.ndarray, seed: int = 12345) -> float:
    """The similarity that only RANDOM_PAIRS_ABOVE of random pairs of reference vectors reach."""
    rng = np.random.default_rng(seed)
    if len(reference) < 2:
        return 0.99
    first, second = rng.integers(0, len(reference), _SAMPLE), rng.integers(0, len(reference), _SAMPLE)
    similarity = reference[first].astype(np.float32) @ reference[second].astype(np.float32).T
    distinct = first[:, None] != second[None, :]  # a text paired with itself is not a random pair
    return float(np.quantile(similarity[distinct], 1.0 - RANDOM_PAIRS_ABOVE))
