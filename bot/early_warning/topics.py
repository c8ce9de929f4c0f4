"""Topics from the mentions themselves: the keywords of a text, and a name for a set of mentions from their top words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.service_levels.kpis import HANDLE_OR_URL, STOPWORDS, WORD

# A mention counts towards at most this many keyword topics: a long rant weighs no more than a short complaint, and
# the rollup grows by at most this many rows per bucket and mention.
MAX_KEYWORDS = 8
# Words shorter than this ("app", "pay") are too often parts of many unrelated topics to name one.
MIN_LENGTH = 4
ALL = ""  # the topic key of every mention of a brand
TOPIC_KEY_LENGTH = 60


def keywords(text: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The distinct topic words of a text, in the order they appear: lower-case, no stopwords, handles or links."""
    found: list[str] = []
    for match in WORD.finditer(HANDLE_OR_URL.sub(" ", text or "")):
        word = match.group(0).lower().strip("'’-")
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if len(word) < MIN_LENGTH or word in STOPWORDS or word in ignore or word in found:
            continue
        found.append(word[:TOPIC_KEY_LENGTH])
        if len(found) == MAX_KEYWORDS:
            break
    return found


def brand_words(brand: str, handles: Iterable[str]) -> frozenset[str]:
    """The brand's own name and handles: in every mention, so never a topic."""
    words = {brand.lower()}
    words.update(h.lstrip("@").lower() for h in handles)
    return frozenset(words)


def top_words(texts: Iterable[str], ignore: frozenset[str] = frozenset(), count: int = 3) -> list[str]:
    """The words most of the texts share (each text counted once per word), most common first."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(keywords(text, ignore))
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:count]]
