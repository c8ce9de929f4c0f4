"""The triage interface: what is decided about each mention, and the protocol every classifier follows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

CATEGORIES = ("complaint", "question", "request", "praise", "suggestion", "other")
SENTIMENTS = ("negative", "neutral", "positive")
MODES = ("reactive", "proactive")
LEVELS = ("monitor", "self_service", "investigate", "private")


@dataclass
class TriageInput:
    """One mention as the classifier sees it."""

    id: str
    text: str
    platform: str | None = None
    author: str | None = None
    author_followers: int | None = None
    addressed_to_brand: bool | None = None
    channel: str = "public"
    lang: str | None = None
    created_at: datetime | None = None


@dataclass
class Triage:
    """Every triage field from the design, with the reasons shown to the person who approves."""

    language: str
    category: str
    sentiment: str
    needs_response: bool
    mode: str
    level: str
    priority: float
    reasons: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    confidence: float = 1.0
    confidences: dict[str, float] = field(default_factory=dict)
    low_confidence: bool = False
    model: str = "unknown"

    def contract(self, mention_id: str) -> dict[str, Any]:
        """The stable JSON shape of the `triage` command's output."""
        return {
            "id": mention_id,
            "language": self.language,
            "category": self.category,
            "sentiment": self.sentiment,
            "needs_response": self.needs_response,
            "mode": self.mode,
            "level": self.level,
            "priority": round(self.priority, 4),
            "reasons": list(self.reasons),
            "labels": dict(self.labels),
        }

    def as_dict(self) -> dict[str, Any]:
        """All fields, for storage."""
        return asdict(self)


class Triager(Protocol):
    """Classifies mentions in batches."""

    name: str

    def triage(self, items: list[TriageInput], now: datetime | None = None) -> list[Triage]:
        """One Triage per input, in order."""
        ...
