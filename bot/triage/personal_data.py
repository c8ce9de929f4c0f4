"""Personal and payment data in a text: card numbers (Luhn), IBANs (mod 97), e-mail addresses, phone numbers."""
from __future__ import annotations

import re

from bot.config import ChecksConfig

URL = re.compile(r"https?://\S+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w#])\+?\d[\d ().-]{7,}\d(?!\w)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


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


def iban_valid(candidate: str) -> bool:
    """True when a string passes the IBAN mod-97 check."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _normalise_contact(value: str) -> str:
    return re.sub(r"[^\w@.+]", "", value.lower())


def find_personal_data(text: str, config: ChecksConfig | None = None) -> list[str]:
    """Kinds of personal or payment data found in the text."""
    config = config or ChecksConfig()
    allowed = {_normalise_contact(c) for c in config.allowed_contacts}
    allowed_digits = {re.sub(r"\D", "", c) for c in config.allowed_contacts if re.sub(r"\D", "", c)}
    found = []
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append("a payment card number")
            break
    if any(iban_valid(m.group()) for m in IBAN.finditer(text)):
        found.append("an IBAN")
    without_urls = URL.sub(" ", text)
    if any(_normalise_contact(m.group()) not in allowed for m in EMAIL.finditer(without_urls)):
        found.append("an e-mail address")
    phones = [m.group() for m in PHONE.finditer(without_urls)]
    # E.164 numbers have at most 15 digits; longer runs are references, not phones.
    if any(8 <= len(re.sub(r"\D", "", p)) <= 15 and re.sub(r"\D", "", p) not in allowed_digits for p in phones):
        found.append("a phone number")
    for pattern in config.personal_data_patterns:
        if re.search(pattern, without_urls, re.IGNORECASE):
            found.append("an order or account number")
            break
    return found


def payment_data(text: str) -> list[str]:
    """Kinds of payment data (a valid card number, a valid IBAN) found in the text."""
    return [kind for kind in find_personal_data(text) if kind in ("a payment card number", "an IBAN")]
