"""Post length the way X counts it (twitter-text v3): 280 weighted characters, every link counts 23."""
from __future__ import annotations

import re
import unicodedata

X_MAX_LENGTH = 280
X_URL_LENGTH = 23
# Code points in these ranges weigh 1; everything else (CJK, most symbols) weighs 2, and so does an emoji sequence.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

_TLDS = "com|net|org|io|co|es|de|fr|uk|it|nl|eu|info|biz|me|app|dev|ly|gl|tv|us|ca|mx|ar|br|example"
_URL = re.compile(
    r"(?:https?://[^\s<>\"]+"
    r"|(?<![@\w.-])(?:www\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:" + _TLDS + r")\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?'\")]}"
_EMOJI_BASE = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2190-\u21FF\u2300-\u23FF\u00A9\u00AE\u203C\u2049\u2122\u2139\u3030\u303D\u3297\u3299"
_EMOJI = re.compile(
    "(?:[\U0001F1E6-\U0001F1FF]{2}"  # flags: a pair of regional indicators
    "|[0-9#*]\uFE0F?\u20E3"  # keycaps
    "|[" + _EMOJI_BASE + "][\uFE0F\U0001F3FB-\U0001F3FF]*(?:\u200D[" + _EMOJI_BASE + "][\uFE0F\U0001F3FB-\U0001F3FF]*)*)")


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        spans.append((start, end))
    return spans


def _weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2


def x_length(text: str) -> int:
    """The weighted length X checks against 280."""
    text = unicodedata.normalize("NFC", text)
    length = 0
    position = 0
    for start, end in _url_spans(text):
        length += _plain_length(text[position:start]) + X_URL_LENGTH
        position = end
    return length + _plain_length(text[position:])


def _plain_length(text: str) -> int:
    length = 0
    position = 0
    for match in _EMOJI.finditer(text):
        start, end = match.span()
        if end - start == 1 and ord(text[start]) < 0x2000:  # a bare (c) or (r) is text, not emoji
            continue
        length += sum(_weight(ch) for ch in text[position:start]) + 2
        position = end
    return length + sum(_weight(ch) for ch in text[position:])


def fits_on_x(text: str) -> bool:
    """True when X would accept this text as one post."""
    return 0 < x_length(text) <= X_MAX_LENGTH
