"""The classifier triager: encoder + calibrated heads, the config's rules on top, a priority and the reasons."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from bot.config import Config
from bot.triage.classifier.encoders import Encoder
from bot.triage.classifier.model import Model
from bot.triage.decision import Triage, TriageInput
from bot.triage.language import detect_language
from bot.triage.priority import score
from bot.triage.rules import Rules

# Heads whose confidence decides whether a person must look: they choose the reply and where it goes.
DECIDING_HEADS = ("category", "sentiment", "needs_response", "level")


class ClassifierTriager:
    """Triage by a trained model: one batched encoder pass, every head at once, then rules, priority and reasons."""

    def __init__(self, config: Config, model: Model, encoder: Encoder):
        self.config = config
        self.model = model
        self.encoder = encoder
        self.rules = Rules(config.triage, config.brand.handles, config.checks)
        self.name = model.label[:100]  # stored in triage_results.model (100 characters)
        names = list(model.heads)
        self._labels = {name: model.heads[name].labels for name in names}
        # All heads as one matrix product: the per-mention cost is one GEMM row, not one call per head.
        self._weights = np.concatenate([model.heads[n].weights for n in names], axis=1)
        self._bias = np.concatenate([model.heads[n].bias for n in names])
        self._slices: dict[str, slice] = {}
        offset = 0
        for name in names:
            width = len(model.heads[name].labels)
            self._slices[name] = slice(offset, offset + width)
            offset += width
        self._temperatures = {name: model.heads[name].temperature for name in names}
        self._true_index = self._labels["needs_response"].index("true")
        self._monitor_index = self._labels["level"].index("monitor")
        self._private_index = self._labels["level"].index("private")
        # Answering a private matter in public costs public_mistake_cost times more than moving a general
        # question to private messages, so private wins from this probability on (the cost-weighted choice).
        self._private_from = 1.0 / (1.0 + config.triage.public_mistake_cost)
        self._negative_index = self._labels["sentiment"].index("negative")

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities of every head for each text (remembered examples taken into account)."""
        return self._decide(texts)[0]

    def _decide(self, texts: list[str]) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Probabilities per head, and per head with a memory the remembered label index (-1: none) and similarity."""
        vectors = self.encoder.encode(texts)
        logits = vectors @ self._weights + self._bias
        out, recalled = {}, {}
        for name, columns in self._slices.items():
            scaled = logits[:, columns] / self._temperatures[name]
            scaled -= scaled.max(axis=1, keepdims=True)
            np.exp(scaled, out=scaled)
            scaled /= scaled.sum(axis=1, keepdims=True)
            if name in self.model.memory:
                scaled, label, similarity = self.model.memory[name].blend(scaled, vectors)
                recalled[name] = (label, similarity)
            out[name] = scaled
        return out, recalled

    def triage(self, items: list[TriageInput], now: datetime | None = None) -> list[Triage]:
        """One Triage per input, in order."""
        if not items:
            return []
        probabilities, recalled = self._decide([item.text for item in items])
        best = {name: p.argmax(axis=1) for name, p in probabilities.items()}
        return [self._one(item, i, probabilities, best, now, recalled) for i, item in enumerate(items)]

    def _one(
        self,
        item: TriageInput,
        row: int,
        probabilities: dict[str, np.ndarray],
        best: dict[str, np.ndarray],
        now: datetime | None,
        recalled: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> Triage:
        decided: dict[str, str] = {}
        confidences: dict[str, float] = {}
        for name, labels in self._labels.items():
            index = int(best[name][row])
            decided[name] = labels[index]
            confidences[name] = round(float(probabilities[name][row, index]), 3)
        # needs_response and level answer overlapping questions; both heads vote on whether to answer.
        true_index, monitor_index = self._true_index, self._monitor_index
        answer = 0.5 * float(probabilities["needs_response"][row, true_index]) + 0.5 * (
            1.0 - float(probabilities["level"][row, monitor_index])
        )
        needs_response = answer >= 0.5
        decided["needs_response"] = "true" if needs_response else "false"
        confidences["needs_response"] = round(answer if needs_response else 1.0 - answer, 3)
        level_probabilities = probabilities["level"][row]
        private = float(level_probabilities[self._private_index])
        if decided["level"] != "private" and private >= self._private_from:
            decided["level"], confidences["level"] = "private", round(private, 3)
        reasons = [
            f"model: {name} {decided[name]} ({confidences[name]:.2f})"
            for name in ("category", "sentiment", "needs_response", "level", "mode")
        ]
        if decided["level"] == "private" and private < float(level_probabilities.max()):
            reasons.append(
                f"model: private from P {private:.2f} ≥ {self._private_from:.2f} "
                "(a private matter answered in public costs more than the reverse)"
            )
        for name, (label, similarity) in recalled.items():
            if label[row] >= 0:
                reasons.append(
                    f"learned: {name} {self._labels[name][label[row]]}, like a mention people labelled "
                    f"(similarity {similarity[row]:.2f})"
                )
        level = decided["level"]
        if needs_response and level == "monitor":
            options = [
                (level_probabilities[i], label) for i, label in enumerate(self._labels["level"]) if label != "monitor"
            ]
            level = max(options)[1]
            confidences["level"] = round(
                float(max(options)[0]) / max(1e-9, 1.0 - float(level_probabilities[monitor_index])), 3
            )
            reasons.append(f"model: needs a response, so the likeliest level that answers: {level}")
        elif not needs_response and level != "monitor":
            reasons.append(f"model: no response needed, so monitor rather than {level}")
            level = "monitor"
        language = detect_language(item.text, item.lang, self.config.brand.default_language)
        custom = {name: decided[name] for name in self.model.custom_heads}
        for name in self.model.custom_heads:
            reasons.append(f"model: {name} {decided[name]} ({confidences[name]:.2f})")
        triage = Triage(
            language=language,
            category=decided["category"],
            sentiment=decided["sentiment"],
            needs_response=needs_response,
            mode=decided["mode"],
            level=level,
            priority=0.0,
            reasons=reasons,
            labels=custom,
            confidences=confidences,
            model=self.name,
        )
        triage = self.rules.apply(item, triage)
        negative = float(probabilities["sentiment"][row, self._negative_index])
        triage.priority, explanation = score(
            triage.sentiment,
            negative,
            item.text,
            item.author_followers,
            item.created_at,
            now,
            self.config.triage.reach_followers_high,
            self.rules.is_vip(item),
        )
        triage.reasons.append(explanation)
        weakest = min(DECIDING_HEADS, key=lambda name: triage.confidences[name])
        triage.confidence = triage.confidences[weakest]
        triage.low_confidence = triage.confidence < self.config.triage.low_confidence
        if triage.low_confidence:
            triage.reasons.append(
                f"low confidence: {weakest} {triage.confidence:.2f} < "
                f"{self.config.triage.low_confidence:.2f}, a person decides (never auto-approved)"
            )
        return triage
