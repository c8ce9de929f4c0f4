"""Priority in [0, 1] from negativity, urgency, the author's reach and the mention's age."""

from __future__ import annotations

import math
import re
from datetime import datetime

_URGENT = re.compile(
    r"\b(urgent|urgente|asap|now|ahora|immediately|inmediatamente|emergency|emergencia|today|hoy|"
    r"still|todavía|sigue|again|otra vez|hours|horas|days|días|weeks|semanas|cancel+ing|cancelar|lawyer|abogado|"
    r"stranded|tirado|outage|caído|down)\b|!{2,}",
    re.IGNORECASE,
)
WEIGHTS = {"negativity": 0.4, "urgency": 0.25, "reach": 0.2, "age": 0.15}


def score(
    sentiment: str,
    negative_probability: float,
    text: str,
    followers: int | None,
    created_at: datetime | None,
    now: datetime | None,
    reach_high: int = 10000,
    vip: bool = False,
) -> tuple[float, str]:
    """The priority and a one-line explanation of its parts.

    negativity is the model's probability that the mention is negative (at least 0.5 when the final
    sentiment, after rules, is negative); urgency counts urgent words and repeated exclamation marks; reach
    grows with the log of the author's followers up to reach_high (a VIP counts fully); age reaches 1 at 24 h.
    """
    negativity = max(0.0, min(1.0, negative_probability))
    if sentiment == "negative":
        negativity = max(negativity, 0.5)
    urgency = min(1.0, len(_URGENT.findall(text)) / 2)
    reach = 0.0 if not followers or followers < 0 else min(1.0, math.log10(1 + followers) / math.log10(1 + reach_high))
    if vip:
        reach = 1.0
    age_hours = max(0.0, (now - created_at).total_seconds() / 3600) if (now and created_at) else 0.0
    age = min(1.0, age_hours / 24)
    value = (
        WEIGHTS["negativity"] * negativity
        + WEIGHTS["urgency"] * urgency
        + WEIGHTS["reach"] * reach
        + WEIGHTS["age"] * age
    )
    explanation = f"priority negativity {negativity:.2f}, urgency {urgency:.2f}, reach {reach:.2f}, age {age:.2f}"
    return round(min(1.0, max(0.0, value)), 4), explanation
