"""Estimated response times promised in acknowledgements, with how they were computed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.models import Case

OPEN_WORK_STATES = ("new", "awaiting_approval", "answered_public", "moved_private")
_UNITS = {"en": ("minute", "minutes", "hour", "hours"), "es": ("minuto", "minutos", "hora", "horas")}


@dataclass
class Eta:
    """A promised response time in minutes, its wording and its explanation."""

    minutes: int
    explanation: str

    def text(self, language: str) -> str:
        """The time in words, in the reply's language."""
        minute, minutes, hour, hours = _UNITS.get(language, _UNITS["en"])
        if self.minutes < 60:
            return f"{self.minutes} {minute if self.minutes == 1 else minutes}"
        value = round(self.minutes / 60)
        return f"{value} {hour if value == 1 else hours}"


def estimate(session: Session, config: Config, case: Case, now: datetime) -> Eta:
    """Default time plus a share for each higher-priority open case ahead, bounded by the SLA maximum."""
    ahead = session.scalar(select(func.count(Case.id)).where(Case.state.in_(OPEN_WORK_STATES),
                                                             Case.level.in_(("investigate", "private")),
                                                             Case.priority > case.priority, Case.id != case.id)) or 0
    base = config.drafts.default_eta_minutes
    per_case = 5
    minutes = base + per_case * ahead
    ceiling = config.sla.first_response_max_hours * 60
    minutes = min(minutes, ceiling)
    minutes = _round_up(minutes)
    explanation = (f"{base} min default + {per_case} min for each of {ahead} higher-priority open cases ahead"
                   f" = {minutes} min (bounded by the {config.sla.first_response_max_hours} h maximum)")
    return Eta(minutes=minutes, explanation=explanation)


def _round_up(minutes: int) -> int:
    """Round a promise up to a time a person would say: 5-minute steps, then half hours, then hours."""
    step = 5 if minutes <= 60 else 30 if minutes <= 240 else 60
    return -(-minutes // step) * step
