"""Personal and payment data in a text: card numbers, IBANs, national ID numbers, e-mail addresses, phone numbers.

The checksums and national formats come from python-stdnum (every country's IBAN length and layout, Spain's
DNI and NIE, the US SSN); phone numbers from phonenumbers (Google's libphonenumber metadata), which knows each
country's numbering plan and so tells a phone from an order number.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from stdnum import iban, luhn
from stdnum.es import dni, nie
from stdnum.us import ssn

from bot.config import ChecksConfig

URL = re.compile(r"https?://\S+")
DIGIT = re.compile(r"\d")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
SPANISH_ID = re.compile(r"\b[XYZ]?\d{7,8}-?[A-Z]\b", re.IGNORECASE)
US_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")


def luhn_valid(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum used by payment cards."""
    return luhn.is_valid(digits)


def iban_valid(candidate: str) -> bool:
    """True when a string is a valid IBAN: its country's length and layout, and the mod-97 check."""
    return iban.is_valid(candidate)


def national_id(text: str) -> bool:
    """True when the text holds a valid Spanish DNI or NIE, or a US social security number."""
    return any(dni.is_valid(m.group()) or nie.is_valid(m.group()) for m in SPANISH_ID.finditer(text)) or any(
        ssn.is_valid(m.group()) for m in US_SSN.finditer(text)
    )


@cache
def _fewest_phone_digits(regions: tuple[str, ...]) -> int:
    """The fewest digits a valid number can have: written with +country for any country, or nationally in regions."""

    def shortest(region: str) -> int | None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        described = metadata.general_desc if metadata else None
        lengths = [n for n in described.possible_length if n > 0] if described else []
        return min(lengths) if lengths else None

    international = [
        len(str(phonenumbers.country_code_for_region(r))) + n
        for r in phonenumbers.SUPPORTED_REGIONS
        if (n := shortest(r)) is not None
    ]
    national = [n for r in regions if (n := shortest(r)) is not None]
    return min(international + national)


def phone_numbers(text: str, regions: list[str]) -> list[str]:
    """The phone numbers in a text, as E.164: with +country anywhere, without it in the national formats of regions."""
    # Most mentions have a digit or two at most: too few for any valid number, so the matcher is not run at all.
    if len(DIGIT.findall(text)) < _fewest_phone_digits(tuple(regions)):
        return []
    found: dict[str, None] = {}
    for region in regions or ["ZZ"]:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            found[phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)] = None
    return list(found)


def _allowed_phone(e164: str, allowed_digits: set[str]) -> bool:
    digits = e164.lstrip("+")
    return any(digits.endswith(a) or a.endswith(digits) for a in allowed_digits if len(a) >= 7)


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
    if national_id(text):
        found.append("a national ID number")
    without_urls = URL.sub(" ", text)
    if any(_normalise_contact(m.group()) not in allowed for m in EMAIL.finditer(without_urls)):
        found.append("an e-mail address")
    phones = phone_numbers(EMAIL.sub(" ", without_urls), config.phone_regions)
    if any(not _allowed_phone(p, allowed_digits) for p in phones):
        found.append("a phone number")
    for pattern in config.personal_data_patterns:
        if re.search(pattern, without_urls, re.IGNORECASE):
            found.append("an order or account number")
            break
    return found


def payment_data(text: str) -> list[str]:
    """Kinds of payment data (a valid card number, a valid IBAN) found in the text."""
    return [kind for kind in find_personal_data(text) if kind in ("a payment card number", "an IBAN")]
