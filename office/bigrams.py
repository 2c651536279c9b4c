"""Character bigrams: the keys of both search indexes (documents in ``docs_flow.search_index``, chat
messages in ``messaging.search_index``).

Chinese has no spaces between words, so a text is indexed by every two consecutive characters, and
a query of two or more characters finds the texts that hold all of its bigrams; the stored text then
confirms the whole query (bigrams say "maybe", the text says "yes").

Whitespace is a character like any other: "a b" has the bigrams "a " and " b", and "\\n\\n" is a
bigram too. Dropping pairs of whitespace would save a few keys per text but make the keys depend on
a second rule that every index, every migration that rebuilds one and every query would have to
apply alike; a query still finds exactly what contains it either way, since a query is stripped at
both ends and so always has a bigram with a non-space character. (Document queries are split into
terms at whitespace, so they never ask for a pair of spaces.) Case does not count: keys are
lower-cased. The keys are part of the stored indexes: change them only with a migration that
rebuilds both.
"""

from __future__ import annotations


def pairs(text: str) -> list[str]:
    """Every two consecutive characters of ``text``, in order, repeats kept ("通知关于" -> 通知 知关 关于):
    a phrase of the index, for matching the bigrams in sequence."""
    return list(map(str.__add__, text, text[1:]))


def bigrams(text: str) -> set[str]:
    """The distinct lower-cased bigrams of ``text``: its index keys (empty below two characters)."""
    lowered = text.lower()
    return set(map(str.__add__, lowered, lowered[1:]))
