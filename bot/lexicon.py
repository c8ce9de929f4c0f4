"""A first triage model from word lists (English and Spanish): fast, transparent, no training."""
from __future__ import annotations

import re
from datetime import datetime

from bot.config import Config
from bot.language import detect_language
from bot.priority import score
from bot.rules import Rules
from bot.triage import Triage, TriageInput

_CUES: dict[str, list[str]] = {
    "complaint": ["worst", "terrible", "awful", "broken", "never arrived", "still waiting", "doesn't work", "not working",
                  "disappointed", "useless", "ridiculous", "cancelled", "delayed", "lost", "charged twice", "scam",
                  "peor", "fatal", "horrible", "no funciona", "nunca llegó", "sigo esperando", "vergüenza", "estafa",
                  "cancelado", "retraso", "perdido", "perdieron", "harto", "harta", "cobrado dos veces", "decepcionado"],
    "question": ["how do i", "how can i", "is there", "does it", "can i", "what is", "when will", "where is", "?",
                 "cómo puedo", "hay alguna", "se puede", "cuándo", "dónde", "qué es", "¿"],
    "request": ["please", "i need", "i want", "can you", "could you", "help me", "cancel my", "change my",
                "por favor", "necesito", "quiero", "podéis", "pueden", "ayudadme", "ayúdenme", "cambiar mi"],
    "praise": ["thank", "thanks", "love", "great", "amazing", "awesome", "best", "excellent", "kudos",
               "gracias", "encanta", "genial", "increíble", "excelente", "mejor", "enhorabuena", "maravilla"],
    "suggestion": ["you should", "it would be nice", "would be great if", "suggest", "feature request", "please add",
                   "deberíais", "deberían", "estaría bien", "sería genial", "sugiero", "sugerencia", "podríais añadir"],
}
_NEGATIVE = ["worst", "terrible", "awful", "hate", "broken", "angry", "furious", "disappointed", "useless", "ridiculous",
             "never", "still", "scam", "fail", "😡", "🤬", "👎", "peor", "fatal", "horrible", "odio", "nunca", "vergüenza",
             "estafa", "harto", "harta", "decepcionado", "indignado", "no funciona", "sigo esperando"]
_POSITIVE = ["thank", "thanks", "love", "great", "amazing", "awesome", "excellent", "happy", "kudos", "❤", "😍", "🙌",
             "👏", "gracias", "encanta", "genial", "increíble", "excelente", "feliz", "enhorabuena", "maravilla"]
_INVESTIGATE = ["not working", "doesn't work", "broken", "never arrived", "still waiting", "lost", "delayed", "outage",
                "down", "error", "crash", "missing", "no funciona", "nunca llegó", "sigo esperando", "perdido",
                "retraso", "caído", "error", "falla", "no me llega", "no ha llegado"]


def _count(text: str, cues: list[str]) -> int:
    return sum(1 for cue in cues if (cue in text if not cue.isalpha() else re.search(rf"\b{re.escape(cue)}", text)))


class LexiconTriager:
    """Word-list triage with config rules on top; every decision names the words behind it."""

    name = "lexicon-v1"

    def __init__(self, config: Config):
        self.config = config
        self.rules = Rules(config.triage, config.brand.handles)

    def triage(self, items: list[TriageInput], now: datetime | None = None) -> list[Triage]:
        """One Triage per input, in order."""
        return [self._one(item, now) for item in items]

    def _one(self, item: TriageInput, now: datetime | None) -> Triage:
        text = item.text.lower()
        reasons: list[str] = []
        language = detect_language(item.text, item.lang, self.config.brand.default_language)
        counts = {category: _count(text, cues) for category, cues in _CUES.items()}
        category = max(counts, key=lambda c: (counts[c], c == "complaint"))
        if counts[category] == 0:
            category = "other"
        total = sum(counts.values()) or 1
        category_confidence = 0.5 if category == "other" else min(0.95, 0.5 + counts[category] / (2 * total))
        reasons.append(f"model: category {category} ({category_confidence:.2f}) from cue words")
        negative, positive = _count(text, _NEGATIVE), _count(text, _POSITIVE)
        sentiment = "negative" if negative > positive else "positive" if positive > negative else "neutral"
        if category == "complaint" and sentiment == "neutral":
            sentiment = "negative"
        sentiment_confidence = min(0.95, 0.55 + 0.15 * abs(negative - positive))
        reasons.append(f"model: sentiment {sentiment} ({sentiment_confidence:.2f})")
        needs_response = category in ("complaint", "question", "request") or (category == "praise" and bool(item.addressed_to_brand))
        level = "monitor"
        if needs_response:
            level = "investigate" if (category == "complaint" or _count(text, _INVESTIGATE)) else "self_service"
        reasons.append(f"model: level {level}")
        triage = Triage(language=language, category=category, sentiment=sentiment, needs_response=needs_response,
                        mode="reactive" if self.rules.addressed_to_brand(item) else "proactive", level=level, priority=0.0, reasons=reasons,
                        confidence=round(min(category_confidence, sentiment_confidence), 3),
                        confidences={"category": category_confidence, "sentiment": sentiment_confidence},
                        model=self.name)
        triage = self.rules.apply(item, triage)
        negative = sentiment_confidence if sentiment == "negative" else (0.3 if sentiment == "neutral" else 0.0)
        triage.priority, explanation = score(sentiment, negative, item.text, item.author_followers,
                                             item.created_at, now, self.config.triage.reach_followers_high,
                                             self.rules.is_vip(item))
        triage.reasons.append(explanation)
        triage.low_confidence = triage.confidence < self.config.triage.low_confidence
        return triage

