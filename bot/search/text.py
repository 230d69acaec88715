"""Text normalisation shared by the index build and the query side, so both tokenise alike."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+(?:[+#]+)?")
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "by", "from",
    "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that",
    "these", "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them",
    "their", "do", "does", "did", "can", "could", "would", "should", "will", "shall", "may",
    "might", "must", "have", "has", "had", "what", "which", "who", "whom", "whose", "how",
    "why", "when", "where", "there", "here", "about", "into", "than", "then", "so", "if", "not",
    "no", "yes", "just", "also", "very", "too", "please", "tell",
})
# fmt: on


def normalise(text: str) -> str:
    """Lower-case, fold accents and typographic quotes, collapse whitespace."""
    if not text.isascii():  # plain ASCII (most messages) has no accents or curly quotes
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = text.replace("’", "'").replace("‘", "'")
    return " ".join(text.lower().split())


def words(text: str) -> list[str]:
    return WORD.findall(normalise(text).replace("'", ""))


def stem(word: str) -> str:
    """A light plural/possessive fold: 'nurses' -> 'nurse', 'analysts' -> 'analyst'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: words without stopwords, lightly stemmed."""
    return [stem(word) for word in words(text) if word not in STOPWORDS]
