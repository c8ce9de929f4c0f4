"""Rules from config.yaml applied on top of any model: levels, spam, VIP authors, brand handles."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import TriageConfig
from bot.triage import Triage, TriageInput

LEVEL_ORDER = {"monitor": 0, "self_service": 1, "investigate": 2, "private": 3}


@dataclass
class _CompiledRule:
    level: str
    label: str
    pattern: re.Pattern[str]


class Rules:
    """Compiled rules; apply() edits a model's Triage and records each rule that fired in its reasons."""

    def __init__(self, config: TriageConfig, brand_handles: list[str]):
        self.handles = [h.lower() for h in brand_handles]
        self.vips = {v.lower().lstrip("@") for v in config.vip_authors}
        self.level_rules: list[_CompiledRule] = []
        for rule in config.level_rules:
            for keyword in rule.keywords:
                self.level_rules.append(_CompiledRule(rule.level, f"keyword '{keyword}'",
                                                      re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)))
            for pattern in rule.patterns:
                self.level_rules.append(_CompiledRule(rule.level, f"pattern /{pattern}/", re.compile(pattern, re.IGNORECASE)))
        self.spam = [re.compile(p, re.IGNORECASE) for p in config.spam_patterns]

    def addressed_to_brand(self, item: TriageInput) -> bool:
        """True when the input says so, or the text names one of the brand's handles."""
        if item.addressed_to_brand is not None:
            return item.addressed_to_brand
        text = item.text.lower()
        return any(re.search(rf"(?<![\w@]){re.escape(h)}(?!\w)", text) for h in self.handles)

    def apply(self, item: TriageInput, triage: Triage) -> Triage:
        """Override the model where a rule fires, saying so in reasons."""
        addressed = self.addressed_to_brand(item) or item.channel == "private"
        triage.mode = "reactive" if addressed else "proactive"
        triage.reasons.append("rule: addressed to the brand → reactive" if addressed
                              else "rule: talks about the brand without addressing it → proactive")
        if any(p.search(item.text) for p in self.spam):
            triage.category, triage.level, triage.needs_response = "other", "monitor", False
            triage.reasons.append("rule: spam pattern → monitor, no response")
            return triage
        for rule in self.level_rules:
            if rule.pattern.search(item.text) and LEVEL_ORDER[rule.level] > LEVEL_ORDER[triage.level]:
                triage.reasons.append(f"rule: {rule.label} → {rule.level}")
                triage.level = rule.level
                if rule.level != "monitor":
                    triage.needs_response = True
        author = (item.author or "").lower().lstrip("@")
        if author and author in self.vips:
            triage.needs_response = True
            if triage.level == "monitor":
                triage.level = "investigate"
            triage.reasons.append(f"rule: VIP author @{author} → always answered")
        if triage.needs_response and triage.level == "monitor":
            triage.level = "self_service"
        if not triage.needs_response:
            triage.level = "monitor"
        return triage

    def is_vip(self, item: TriageInput) -> bool:
        """True when the author is on the VIP list."""
        return bool(item.author) and item.author.lower().lstrip("@") in self.vips
