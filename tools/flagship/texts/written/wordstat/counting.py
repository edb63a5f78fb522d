"""Counting functions, independent of any input or output handling."""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass


@dataclass
class Counts:
    """Line, word, character and byte counts of one input."""

    lines: int = 0
    words: int = 0
    chars: int = 0
    bytes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            lines=self.lines + other.lines,
            words=self.words + other.words,
            chars=self.chars + other.chars,
            bytes=self.bytes + other.bytes,
        )


def count_text(text: str) -> Counts:
    """Count ``text`` the way ``wc`` does.

    Lines are newline characters, so a last line without a newline is not
    counted; words are maximal runs of non-whitespace characters.
    """
    return Counts(
        lines=text.count("\n"),
        words=len(text.split()),
        chars=len(text),
        bytes=len(text.encode("utf-8")),
    )


def top_words(text: str, n: int = 10) -> list[tuple[str, int]]:
    """Return the ``n`` most frequent words with their counts.

    Words are compared case-insensitively with surrounding punctuation
    removed. Ties keep the order in which the words first appear.
    """
    words = (word.strip(string.punctuation) for word in text.lower().split())
    return Counter(word for word in words if word).most_common(n)
