"""Rules from config.yaml applied on top of any model: levels, spam, VIP authors, brand handles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import ChecksConfig, TriageConfig
from bot.triage.decision import Triage, TriageInput
from bot.triage.personal_data import find_personal_data

LEVEL_ORDER = {"monitor": 0, "self_service": 1, "investigate": 2, "private": 3}
# Categories that leave nothing to solve when the mention only talks about the brand (proactive); a proactive
# question or complaint is answered when the brand can help (docs/labelling.md).
NOTHING_TO_SOLVE = ("other", "praise")


@dataclass
class _CompiledRule:
    level: str
    kind: str
    pattern: re.Pattern[str]


class Rules:
    """Compiled rules; apply() edits a model's Triage and records each rule that fired in its reasons."""

    def __init__(self, config: TriageConfig, brand_handles: list[str], checks: ChecksConfig | None = None):
        self.handles = [h.lower() for h in brand_handles]
        self._handle_pattern = (
            re.compile("|".join(rf"(?<![\w@]){re.escape(h)}(?!\w)" for h in self.handles), re.IGNORECASE)
            if self.handles
            else None
        )
        self.vips = {v.lower().lstrip("@") for v in config.vip_authors}
        self.level_rules: list[_CompiledRule] = []
        for rule in config.level_rules:
            if rule.keywords:
                # One alternation per rule (longest first) instead of one search per keyword: same matches, one pass.
                words = sorted(rule.keywords, key=len, reverse=True)
                alternation = "|".join(re.escape(word) for word in words)
                self.level_rules.append(
                    _CompiledRule(rule.level, "keyword", re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE))
                )
            for pattern in rule.patterns:
                self.level_rules.append(
                    _CompiledRule(rule.level, f"pattern /{pattern}/", re.compile(pattern, re.IGNORECASE))
                )
        self.spam = [re.compile(p, re.IGNORECASE) for p in config.spam_patterns]
        self.checks = checks or ChecksConfig()

    def addressed_to_brand(self, item: TriageInput) -> bool:
        """True when the input says so, or the text names one of the brand's handles."""
        if item.addressed_to_brand is not None:
            return item.addressed_to_brand
        return bool(self._handle_pattern and self._handle_pattern.search(item.text))

    def apply(self, item: TriageInput, triage: Triage) -> Triage:
        """Override the model where a rule fires, saying so in reasons; a field a rule sets gets confidence 1."""
        self._mode(item, triage)
        if any(p.search(item.text) for p in self.spam):
            triage.category, triage.level, triage.needs_response = "other", "monitor", False
            triage.reasons.append("rule: spam pattern → monitor, no response")
            self._certain(triage, "category", "level", "needs_response")
            return triage
        level_rule_fired = False
        exposed = find_personal_data(item.text, self.checks)
        if exposed and triage.level != "private":
            # A card number, an IBAN, an e-mail address, a phone number or an order or account number
            # (checks.personal_data_patterns) in the mention: never discussed in public.
            triage.reasons.append(f"rule: the mention contains {', '.join(exposed)} → private")
            triage.level, triage.needs_response, level_rule_fired = "private", True, True
            self._certain(triage, "level", "needs_response")
        for rule in self.level_rules:
            match = rule.pattern.search(item.text)
            if match and LEVEL_ORDER[rule.level] > LEVEL_ORDER[triage.level]:
                label = f"keyword '{match.group(0).lower()}'" if rule.kind == "keyword" else rule.kind
                triage.reasons.append(f"rule: {label} → {rule.level}")
                triage.level = rule.level
                level_rule_fired = True
                self._certain(triage, "level")
                if rule.level != "monitor":
                    triage.needs_response = True
                    self._certain(triage, "needs_response")
        vip = self.is_vip(item)
        if vip:
            triage.needs_response = True
            if triage.level == "monitor":
                triage.level = "investigate"
            triage.reasons.append(f"rule: VIP author @{(item.author or '').lower().lstrip('@')} → always answered")
            self._certain(triage, "needs_response")
        elif (
            triage.mode == "proactive"
            and item.channel != "private"
            and not level_rule_fired
            and triage.needs_response
            and triage.category in NOTHING_TO_SOLVE
        ):
            triage.needs_response = False
            triage.reasons.append(f"rule: proactive {triage.category} with nothing to solve → monitor")
        if triage.needs_response and triage.level == "monitor":
            triage.level = "self_service"
        if not triage.needs_response:
            triage.level = "monitor"
        return triage

    def _mode(self, item: TriageInput, triage: Triage) -> None:
        """Reactive when the mention addresses the brand; the model's guess stands only when nothing says."""
        if item.channel == "private":
            triage.mode = "reactive"
            triage.reasons.append("rule: private message → reactive")
        elif item.addressed_to_brand is not None:
            triage.mode = "reactive" if item.addressed_to_brand else "proactive"
            triage.reasons.append(
                "rule: addressed to the brand → reactive"
                if item.addressed_to_brand
                else "rule: talks about the brand without addressing it → proactive"
            )
        elif self._handle_pattern and self._handle_pattern.search(item.text):
            triage.mode = "reactive"
            triage.reasons.append("rule: names a brand handle → reactive")
        else:
            return
        self._certain(triage, "mode")

    @staticmethod
    def _certain(triage: Triage, *fields: str) -> None:
        for name in fields:
            triage.confidences[name] = 1.0

    def is_vip(self, item: TriageInput) -> bool:
        """True when the author is on the VIP list."""
        return bool(item.author and item.author.lower().lstrip("@") in self.vips)
