"""Classification heads: a linear layer over the sentence vector, with a softmax temperature fitted on held-out folds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Ridge penalty, relative to the mean diagonal of the Gram matrix; chosen by cross-validation on the seed
# examples, not on any evaluation set.
L2 = 0.05
FOLDS = 5
_TEMPERATURES = np.exp(np.linspace(np.log(0.002), np.log(5.0), 157))


@dataclass
class Head:
    """One decision (category, sentiment, a custom head...) as a calibrated linear classifier."""

    name: str
    labels: list[str]
    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        """Raw scores, one column per label."""
        return vectors @ self.weights + self.bias

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, one column per label."""
        return softmax(self.logits(vectors) / self.temperature)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _fit_linear(
    vectors: np.ndarray, targets: np.ndarray, n_labels: int, sample_weight: np.ndarray, l2: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge regression onto one-hot labels, in closed form (milliseconds even for 10,000 rows)."""
    gram, cross = _moments(vectors, targets, n_labels, sample_weight)
    return _solve(gram, cross, L2 if l2 is None else l2)


def _moments(
    vectors: np.ndarray, targets: np.ndarray, n_labels: int, sample_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The weighted Gram matrix and label cross-products, with a constant column for the bias."""
    design = np.hstack([vectors, np.ones((len(vectors), 1), dtype=vectors.dtype)]).astype(np.float64)
    onehot = np.zeros((len(targets), n_labels), dtype=np.float64)
    onehot[np.arange(len(targets)), targets] = 1.0
    weighted = design * sample_weight[:, None]
    return weighted.T @ design, weighted.T @ onehot


def _solve(gram: np.ndarray, cross: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias from the moments; the bias is not penalised."""
    penalty = np.full(gram.shape[0], l2 * np.trace(gram) / gram.shape[0])
    penalty[-1] = 1e-9
    solution = np.linalg.solve(gram + np.diag(penalty), cross)
    return solution[:-1].astype(np.float32), solution[-1].astype(np.float32)


def _balanced_weights(targets: np.ndarray, n_labels: int, sample_weight: np.ndarray) -> np.ndarray:
    """Sample weights times inverse class frequency, so a rare class is not drowned by a common one."""
    counts = np.bincount(targets, weights=sample_weight, minlength=n_labels)
    per_class = np.where(counts > 0, counts.sum() / (n_labels * np.maximum(counts, 1e-9)), 0.0)
    return sample_weight * per_class[targets]


def fold_ids(targets: np.ndarray, folds: int, groups: Sequence[str] | None = None) -> np.ndarray:
    """Deterministic fold number for each row, stratified by label; rows of one group share a fold."""
    rng = np.random.default_rng(12345)
    if groups is not None:
        names = list(dict.fromkeys(groups))
        order = rng.permutation(len(names))
        fold_of = {names[i]: k % folds for k, i in enumerate(order)}
        return np.array([fold_of[g] for g in groups], dtype=np.int64)
    ids = np.empty(len(targets), dtype=np.int64)
    for label in np.unique(targets):
        rows = np.flatnonzero(targets == label)
        rng.shuffle(rows)
        ids[rows] = np.arange(len(rows)) % folds
    return ids


def _best_temperature(logits: np.ndarray, targets: np.ndarray, smoothing: float = 0.02) -> float:
    """The temperature that minimises the held-out negative log-likelihood against lightly smoothed labels.

    The smoothing keeps a head whose held-out predictions are all right (small, separable seed sets)
    from collapsing to zero temperature and certainties of exactly 1.
    """
    n_labels = logits.shape[1]
    soft = np.full(logits.shape, smoothing / max(1, n_labels - 1), dtype=np.float64)
    soft[np.arange(len(targets)), targets] = 1.0 - smoothing
    best, best_loss = 1.0, np.inf
    for temperature in _TEMPERATURES:
        scaled = logits / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_probabilities = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = float(-np.mean((soft * log_probabilities).sum(axis=1)))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def principal_direction(vectors: np.ndarray) -> np.ndarray:
    """The unit vector along which the vectors vary most (their first principal component)."""
    rows = np.asarray(vectors, dtype=np.float64)
    centred = rows - rows.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    return eigenvectors[:, -1]


def train_head(
    name: str,
    vectors: np.ndarray,
    labels: Sequence[str],
    label_set: Sequence[str] | None = None,
    sample_weight: np.ndarray | None = None,
    calibrate: bool = True,
    groups: Sequence[str] | None = None,
    blind_to: np.ndarray | None = None,
) -> Head:
    """Fit a head on labelled vectors; its temperature comes from out-of-fold predictions (groups never split).

    blind_to, a unit vector, is a direction the head must not read: it is fitted on the vectors with that
    component removed, so its weights are orthogonal to it and it gives the same scores on the raw vectors.
    """
    classes = list(label_set) if label_set else sorted(set(labels))
    index = {label: i for i, label in enumerate(classes)}
    targets = np.array([index[label] for label in labels], dtype=np.int64)
    weights = np.ones(len(targets), dtype=np.float64) if sample_weight is None else np.asarray(sample_weight, float)
    balanced = _balanced_weights(targets, len(classes), weights)
    vectors = np.asarray(vectors, dtype=np.float32)
    if blind_to is not None:
        vectors = vectors - np.outer(vectors @ blind_to, blind_to).astype(np.float32)
    temperature = 1.0
    present = np.bincount(targets, minlength=len(classes))
    folds = min(FOLDS, int(present[present > 0].min()) if present.any() else 0)
    if calibrate and folds >= 2 and (present > 0).sum() >= 2:
        fold = fold_ids(targets, folds, groups)
        gram, cross = _moments(vectors, targets, len(classes), balanced)
        held_out = np.zeros((len(targets), len(classes)), dtype=np.float32)
        for k in range(folds):
            test = fold == k
            fold_gram, fold_cross = _moments(vectors[test], targets[test], len(classes), balanced[test])
            w, b = _solve(gram - fold_gram, cross - fold_cross, L2)
            held_out[test] = vectors[test] @ w + b
        temperature = _best_temperature(held_out, targets)
    w, b = _fit_linear(vectors, targets, len(classes), balanced)
    if blind_to is not None:  # exactly orthogonal, not only up to rounding
        w = (w - np.outer(blind_to, blind_to @ w)).astype(np.float32)
    return Head(name=name, labels=classes, weights=w, bias=b, temperature=temperature)
