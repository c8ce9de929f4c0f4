"""Priority in [0, 1] from negativity, urgency, the author's reach and the mention's age."""
from __future__ import annotations

import math
import re
from datetime import datetime

_URGENT = re.compile(r"\b(urgent|urgente|asap|now|ahora|immediately|inmediatamente|emergency|emergencia|today|hoy|"
                     r"still|todavía|sigue|again|otra vez|hours|horas|days|días|cancel+ing|cancelar|lawyer|abogado|"
                     r"stranded|tirado|outage|caído|down)\b|!{2,}", re.IGNORECASE)
WEIGHTS = {"negativity": 0.4, "urgency": 0.25, "reach": 0.2, "age": 0.15}


def score(sentiment: str, sentiment_confidence: float, text: str, followers: int | None,
          created_at: datetime | None, now: datetime | None, reach_high: int = 10000, vip: bool = False) -> tuple[float, str]:
    """The priority and a one-line explanation of its parts."""
    negativity = sentiment_confidence if sentiment == "negative" else (0.3 if sentiment == "neutral" else 0.0)
    urgency = min(1.0, len(_URGENT.findall(text)) / 2)
    reach = 0.0 if not followers else min(1.0, math.log10(1 + followers) / math.log10(1 + reach_high))
    if vip:
        reach = 1.0
    age_hours = max(0.0, (now - created_at).total_seconds() / 3600) if (now and created_at) else 0.0
    age = min(1.0, age_hours / 24)
    parts = {"negativity": negativity, "urgency": urgency, "reach": reach, "age": age}
    value = sum(WEIGHTS[k] * v for k, v in parts.items())
    explanation = "priority " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    return round(min(1.0, max(0.0, value)), 4), explanation
