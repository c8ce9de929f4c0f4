"""Quality checks on every draft: what must hold before a person may approve it."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

URL = re.compile(r"https?://\S+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{7,}\d(?!\w)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)")
PLATFORM_LIMITS = {"x": 280, "facebook": 8000, "replay": 280}
X_URL_LENGTH = 23


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        """For storage on the draft."""
        return asdict(self)


def luhn_valid(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_personal_data(text: str) -> list[str]:
    """Kinds of personal or payment data found in the text."""
    found = []
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append("a payment card number")
            break
    if IBAN.search(text):
        found.append("an IBAN")
    without_urls = URL.sub(" ", text)
    if EMAIL.search(without_urls):
        found.append("an e-mail address")
    if PHONE.search(without_urls):
        found.append("a phone number")
    return found


def platform_length(text: str, platform: str) -> int:
    """Length the way the platform counts it (on X every link counts as 23 characters)."""
    if platform in ("x", "replay"):
        return len(URL.sub("x" * X_URL_LENGTH, text))
    return len(text)


def run_checks(text: str, kind: str, channel: str, platform: str, category: str) -> list[CheckResult]:
    """Every check that applies to a draft."""
    results: list[CheckResult] = []
    limit = PLATFORM_LIMITS.get(platform, 280) if channel == "public" else 10000
    length = platform_length(text, platform)
    results.append(CheckResult("length", length <= limit, f"{length} of {limit} characters"))
    if channel == "public":
        found = find_personal_data(text)
        results.append(CheckResult("no_personal_data", not found,
                                   "no personal or payment data" if not found else "public reply contains " + ", ".join(found)))
    if kind == "acknowledgement":
        has_eta = bool(re.search(r"\d+\s*(min|minute|minuto|hour|hora|h\b)", text, re.IGNORECASE))
        results.append(CheckResult("eta", has_eta, "names an estimated response time" if has_eta else "acknowledgement without an ETA"))
    results.append(CheckResult("not_empty", bool(text.strip()), "has text" if text.strip() else "the reply is empty"))
    return results


def failing(checks: list[dict[str, object]]) -> list[dict[str, object]]:
    """The checks that did not pass."""
    return [c for c in checks if not c.get("ok")]
