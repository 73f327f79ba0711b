"""A product word spelled as the icon set spells it (no torch).

Briefs carry typos ('candels', 'sunglases', 'headphons'), and the copy names the product as the
brief wrote it. The learned text-to-icon match reads such a word by its character n-grams and
still finds the right icon (candle, sunglasses, headphones); where a word of the product is one
edit (a letter added, dropped, changed, or two swapped) away from a word of that icon's slug or
its plural, with the same first and last letter, and no word of any slug as written, the copy
takes the slug's spelling.
Words under 4 letters and Chinese are left as written.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+")
SHORTEST = 4  # letters of the shortest word that is respelled


def edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    neighbouring letters, each 1."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _forms(word: str) -> tuple[str, ...]:
    """`word` and the word it is a plural of ('watches' -> 'watche', 'watch')."""
    out = [word]
    if word.endswith("s"):
        out.append(word[:-1])
    if word.endswith("es"):
        out.append(word[:-2])
    return tuple(out)


def word_respellings(word: str, slug_words: list[str], known: frozenset[str]) -> list[str]:
    """Every slug word (or its plural) `word` may be a typo of, in the order of `slug_words`:
    one edit from it with the same first and last letter (a typo of the brief's kind, not
    another word: 'shirts' is no 'tshirts'); none where `word` is itself a word of the icon set
    or its plural (`known`)."""
    low = word.lower()
    if len(low) < SHORTEST or any(f in known for f in _forms(low)):
        return []
    out = []
    for target in slug_words:
        for form in (target, target + "s", target + "es"):
            if form[0] == low[0] and form[-1] == low[-1] and edits(low, form) == 1:
                out.append(form.capitalize() if word[:1].isupper() else form)
    return list(dict.fromkeys(out))


def respell_word(word: str, slug_words: list[str], known: frozenset[str]) -> str:
    """`word` as the first slug word it may be a typo of spells it (`word_respellings`)."""
    return next(iter(word_respellings(word, slug_words, known)), word)


def respell(product: str, slug: str, known: frozenset[str]) -> str:
    """`product` with each Latin word respelled against the words of `slug` ('shoe-sneaker')."""
    return respell_against(product, slug.split("-"), known)


def respell_against(product: str, words: list[str], known: frozenset[str]) -> str:
    """`product` with each Latin word respelled against `words` (the first in their order that
    is one typo away; words under SHORTEST letters are no target)."""
    targets = [w for w in words if len(w) >= SHORTEST]
    return _WORD.sub(lambda m: respell_word(m.group(0), targets, known), product)


def slug_vocabulary(slugs: list[str]) -> frozenset[str]:
    """Every word of every icon slug."""
    return frozenset(w for s in slugs for w in s.split("-"))


def respellings(product: str, words: list[str], known: frozenset[str]) -> list[str]:
    """Every way `product` may be respelled against `words`: each word respelled as the first
    word it may be a typo of (`respell_against`), then one word respelled each way it may be
    ('artisan candels' -> 'artisan cancels', 'artisan candles'), for the icon match to choose
    among; `product` itself is none of them."""
    targets = [w for w in words if len(w) >= SHORTEST]
    out = [respell_against(product, words, known)]
    for m in _WORD.finditer(product):
        out += [product[:m.start()] + fixed + product[m.end():]
                for fixed in word_respellings(m.group(0), targets, known)]
    return [p for p in dict.fromkeys(out) if p != product]
