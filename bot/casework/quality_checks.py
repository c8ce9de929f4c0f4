"""Quality checks on every draft: what must hold before a person may approve it without an override."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bot.config import ChecksConfig
from bot.platforms.registry import PLATFORMS
from bot.triage.language import detect_language
from bot.triage.personal_data import find_personal_data, iban_valid, luhn_valid  # noqa: F401 (part of the checks API)

URL = re.compile(r"https?://\S+")
HANDLES = re.compile(r"^(?:@\w+\s*)+")
SENTENCE_END = re.compile(r"[.!?¡¿]+(?:\s|$)")
ETA_WORDS = re.compile(r"\d+\s*(?:min|minute|minuto|hour|hora|h\b|day|día|dia)", re.IGNORECASE)
PUBLIC_KINDS = ("reply", "acknowledgement", "invitation", "close")
# Kinds that answer the customer's complaint directly and so should open with empathy.
EMPATHY_KINDS = ("reply", "acknowledgement", "invitation", "private_message", "follow_up")
CHECK_NAMES = ("length", "no_personal_data", "eta", "empathy", "brevity", "summary", "language", "not_empty")


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, object]:
        """For storage on the draft."""
        return asdict(self)


def platform_length(text: str, platform: str) -> int:
    """Length the way the platform counts it (on X: links count 23, CJK and emoji count 2)."""
    known = PLATFORMS.get(platform)
    return known.text_length(text) if known is not None else len(text)


def _opening(text: str, window: int) -> str:
    return HANDLES.sub("", text.strip())[:window].lower()


def _sentences(text: str) -> int:
    body = URL.sub("link", HANDLES.sub("", text.strip()))
    return len([s for s in SENTENCE_END.split(body) if re.search(r"\w", s)])


def run_checks(
    text: str,
    kind: str,
    channel: str,
    platform: str,
    category: str,
    config: ChecksConfig | None = None,
    language: str | None = None,
) -> list[CheckResult]:
    """Every check that applies to a draft, as configured (language is the one the reply must be in)."""
    config = config or ChecksConfig()
    skip = set(config.disabled)
    results: list[CheckResult] = []

    def add(name: str, ok: bool, message: str) -> None:
        if name not in skip:
            results.append(CheckResult(name, ok, message))

    limits = config.platform_limits if channel == "public" else config.private_limits
    limit = limits.get(platform, 280 if channel == "public" else 10000)
    length = platform_length(text, platform)
    add("length", length <= limit, f"{length} of {limit} characters")
    if channel == "public":
        found = find_personal_data(text, config)
        add(
            "no_personal_data",
            not found,
            "no personal or payment data" if not found else "public reply contains " + ", ".join(found),
        )
    if kind == "acknowledgement":
        has_eta = bool(ETA_WORDS.search(text))
        add("eta", has_eta, "names an estimated response time" if has_eta else "acknowledgement without an ETA")
    if category == "complaint" and kind in EMPATHY_KINDS:
        phrases = [p.lower() for phrases in config.empathy_phrases.values() for p in phrases]
        opening = _opening(text, config.empathy_window_chars)
        empathetic = any(p in opening for p in phrases)
        add(
            "empathy",
            empathetic,
            "opens with empathy"
            if empathetic
            else "an answer to a complaint should open with empathy (e.g. "
            + ", ".join(config.empathy_phrases.get(language or "en", [])[:3])
            + ")",
        )
    words = len(URL.sub("link", text).split())
    max_words = config.max_words_public if channel == "public" else config.max_words_private
    sentences = _sentences(text)
    brief = words <= max_words and sentences <= config.max_sentences
    add(
        "brevity",
        brief,
        f"{words} words, {sentences} sentences"
        if brief
        else f"over-explains: {words} words (at most {max_words}), {sentences} sentences (at most {config.max_sentences})",
    )
    if kind == "close":
        phrases = [p.lower() for phrases in config.summary_phrases.values() for p in phrases]
        summed = any(p in text.lower() for p in phrases)
        add(
            "summary",
            summed,
            "sums up what was agreed"
            if summed
            else "a closing message should sum up what was agreed (resolve with a summary, or edit the text)",
        )
    if language in ("en", "es") and len(_words(text)) >= 5:
        detected = detect_language(HANDLES.sub("", URL.sub(" ", text)), fallback=language)
        add(
            "language",
            detected == language,
            f"in the customer's language ({language})"
            if detected == language
            else f"the reply reads as {detected}, but the customer writes in {language}",
        )
    add("not_empty", bool(text.strip()), "has text" if text.strip() else "the reply is empty")
    return results


def check_draft(config, draft) -> list[dict[str, object]]:
    """The checks of a draft's current text as stored on Draft.checks (call it again after an edit)."""
    return [
        c.as_dict()
        for c in run_checks(
            draft.text,
            draft.kind,
            draft.channel,
            draft.case.platform,
            draft.case.category or "other",
            config.checks,
            draft.language,
        )
    ]


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", URL.sub(" ", text))


def failing(checks: list[dict[str, object]]) -> list[dict[str, object]]:
    """The checks that did not pass."""
    return [c for c in checks if not c.get("ok")]
