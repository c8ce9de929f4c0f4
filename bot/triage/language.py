"""The language of a mention, by py3langid (langid.py's model: 142 languages, offline, thousands of texts a second).

A short or ambiguous mention ("ok", "👎", "gracias!!") is decided between English and Spanish only, the
languages the classifier's seeds and the bundled templates are written in; a longer one may be any language
the model knows when it is sure of it, so a Portuguese or French customer is recognised (and answered in the
brand's default language unless the brand speaks theirs: `brand.languages`).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path

import py3langid
from py3langid.langid import MODEL_FILE, LanguageIdentifier

_MENTION_OR_LINK = re.compile(r"[@#]\w+|https?://\S+")
_WORD = re.compile(r"[^\W\d_]{2,}")
BASE_LANGUAGES = ("en", "es")
# A language other than English or Spanish is taken only from this many words and this confidence up: below,
# langid's guesses on a few words are often a neighbour (Galician for Spanish, Scots for English).
MIN_WORDS_FOR_OTHERS = 4
MIN_CONFIDENCE_FOR_OTHERS = 0.95
_MODEL = Path(py3langid.__file__).resolve().parent / MODEL_FILE


@cache
def _identifiers() -> tuple[LanguageIdentifier, LanguageIdentifier]:
    """The model over every language and the same model narrowed to English and Spanish: read once, at first use."""
    every = LanguageIdentifier.from_modelpath(_MODEL, norm_probs=True)
    base = copy.copy(every)  # set_languages replaces the copy's arrays; the model itself is shared
    base.set_languages(list(BASE_LANGUAGES))
    return every, base


def detect_language(text: str, hint: str | None = None, fallback: str = "en") -> str:
    """An ISO 639-1 code; the platform's hint wins when it names one; no words at all gives fallback."""
    if hint and re.fullmatch(r"[a-z]{2}(?:[-_][a-z0-9]{2,4})?", hint.lower()):  # not X's und, zxx, qme …
        return hint.lower()[:2]
    body = _MENTION_OR_LINK.sub(" ", text)
    words = _WORD.findall(body)
    if not words:
        return fallback
    if len(words) >= MIN_WORDS_FOR_OTHERS:
        language, confidence = _identifiers()[0].classify(body)
        if confidence >= MIN_CONFIDENCE_FOR_OTHERS:
            return language
    language, confidence = _identifiers()[1].classify(body)
    return language if confidence >= 0.6 else fallback
