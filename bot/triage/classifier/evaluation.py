"""Measuring a head on labelled examples: per-class precision, recall and F1, and macro F1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.triage.classifier.encoders import Encoder
from bot.triage.classifier.examples import Example
from bot.triage.classifier.model import Model
from bot.triage.classifier.training import encode_texts
from bot.triage.decision import TriageInput


def classification_report(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support; macro F1 over the classes present in truth or predictions."""
    classes: dict[str, dict[str, float]] = {}
    truth_array, predicted_array = np.array(truth, dtype=object), np.array(predicted, dtype=object)
    for label in labels:
        true_positive = int(np.sum((truth_array == label) & (predicted_array == label)))
        predicted_count = int(np.sum(predicted_array == label))
        support = int(np.sum(truth_array == label))
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if support or predicted_count:
            classes[label] = {
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "support": support,
            }
    macro = float(np.mean([c["f1"] for c in classes.values()])) if classes else 0.0
    accuracy = float(np.mean(truth_array == predicted_array)) if len(truth_array) else 0.0
    return {
        "examples": len(truth_array),
        "accuracy": round(accuracy, 4),
        "macro_f1": round(macro, 4),
        "classes": classes,
    }


def evaluate_head(
    model: Model, encoder: Encoder, head: str, examples: list[Example], low_confidence: float = 0.55
) -> dict[str, Any]:
    """How well one head of the model labels the examples, as a JSON-ready report."""
    if head not in model.heads:
        raise KeyError(head)
    classifier = model.heads[head]
    vectors = encode_texts(encoder, [example.text for example in examples])
    probabilities = model.probabilities(head, vectors)
    predicted = [classifier.labels[i] for i in probabilities.argmax(axis=1)]
    report = classification_report([e.label for e in examples], predicted, classifier.labels)
    confidence = probabilities.max(axis=1)
    report["low_confidence_share"] = round(float(np.mean(confidence < low_confidence)), 4) if len(confidence) else 0.0
    report["mean_confidence"] = round(float(confidence.mean()), 4) if len(confidence) else 0.0
    return {"head": head, "model": model.label, **report}


def evaluate_triage(
    triager, head: str, examples: list[Example], labels: Sequence[str], addressed_to_brand: bool | None = None
) -> dict[str, Any]:
    """How well the whole triage (model, then the config's rules) gets one field right, as a JSON-ready report."""

    predicted: list[str] = []
    for start in range(0, len(examples), 256):
        batch = examples[start : start + 256]
        items = [
            TriageInput(id=str(i), text=e.text, addressed_to_brand=addressed_to_brand) for i, e in enumerate(batch)
        ]
        for triage in triager.triage(items):
            value = triage.labels.get(head) if head in triage.labels else getattr(triage, head)
            predicted.append(str(value).lower() if isinstance(value, bool) else str(value))
    report = classification_report([e.label for e in examples], predicted, labels)
    return {"head": head, "model": triager.name, "with_rules": True, **report}
