"""Where a brief's product word is placed: the learned text-to-icon match (`nn/icon.py`) over
the icon pack's slugs, and the rules that honour it.

`ProductPlacer.place` turns the tagger's product span (`Understood.product`) into the product
word the copy names and the icon the design shows, or refuses the brief naming the word it
could not place: a weak span gives way to a word around or inside it, to another tagged
product run, to the brief's best word, or to its typo fix, wherever the match finds that
clearly better (docs/ads.md, "Inference rules"). It holds no weights: the slug keys are the
model's icon matcher's, computed once per process and cached.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import torch

from alpaca_ads.domain.spec import SIZES

from .nn import spelling
from .nn.icon import IconMatcher, ngram_batch
from .nn.understand import Understood, product_candidates, word_candidates

PRODUCT_MATCH = 0.5  # cosine of a product span's best word to its nearest icon: below, no product
WEAK_MATCH = 0.7  # a span below this may give way to a word around it that matches better
CLEAR_MATCH = 0.65  # ... when that word reaches this
CLEAR_GAIN = 0.05  # ... and matches this much better
FOUND_MATCH = 0.75  # a word of a brief with no tagged product that matches an icon this well is it
SURE_BRIEF = 0.99  # a brief the "understood" head is this sure of keeps a product no icon pictures
SURE_TAG = 0.3  # ... where the tagger gives the product's characters this much on average
NO_PICTURE_ICON = "shopping"  # what such a product shows: a shopping bag


def clearly_better(match: float, than: float) -> bool:
    """Whether a word's icon match is clearly better than another's (>= CLEAR_MATCH and by
    CLEAR_GAIN): what a weak match (< WEAK_MATCH) gives way to."""
    return match >= CLEAR_MATCH and match - than >= CLEAR_GAIN


def names_the_thing(part: str, span: str) -> bool:
    """Whether `part` of a product span can name the product alone: any Chinese word around a
    Chinese span; in English, only a run that ends with the span's last word (an English name's
    last word is the thing: 'toys' of 'kids toys', not 'dog' of 'dog leashes')."""
    if not span.isascii():
        return True
    last = re.findall(r"[\w\-]+", span.lower())
    return bool(last) and re.findall(r"[\w\-]+", part.lower())[-1:] == last[-1:]


class ProductPlacer:
    """The product word of each brief, by the model's icon matcher (see the module docstring)."""

    def __init__(self, icons: IconMatcher, buckets: int):
        self.icons, self.buckets = icons, buckets
        self._slugs: tuple[list[str], torch.Tensor] | None = None
        self._slug_words: frozenset[str] | None = None

    def slug_table(self) -> tuple[list[str], torch.Tensor]:
        """Every icon slug of the pack and its key embedding (computed once, cached)."""
        if self._slugs is None:
            from alpaca_ads.domain.assets import icon_slugs

            slugs = list(icon_slugs())
            with torch.no_grad():
                keys = torch.cat([self.icons.embed_key(ngram_batch(slugs[i: i + 1024],
                                                                   self.buckets))
                                  for i in range(0, len(slugs), 1024)])
            self._slugs = (slugs, keys)
        return self._slugs

    def nearest(self, phrases: Sequence[str]) -> tuple[list[int], list[float]]:
        """Index of the nearest icon slug of each phrase and its cosine similarity."""
        _, keys = self.slug_table()
        q = self.icons.embed_query(ngram_batch([p or " " for p in phrases],
                                               self.buckets))
        score, best = (q @ keys.T).max(-1)
        return best.tolist(), score.tolist()

    def match_icons(self, products: Sequence[str]) -> list[str | None]:
        """The nearest icon slug of each product span (None for an empty span)."""
        slugs, _ = self.slug_table()
        best, score = self.nearest(products)
        return [None if not p else slugs[b] if s >= PRODUCT_MATCH else NO_PICTURE_ICON
                for p, b, s in zip(products, best, score)]

    def product_word(self, text: str, span: str) -> tuple[str, float, int]:
        """The product word a span stands for, how well the best word of it matches an icon,
        and the word's nearest icon (an index of `slug_table`). A span the learned text-to-icon
        match finds weak (< WEAK_MATCH) gives way to the word around or inside it
        (`product_candidates`) that matches an icon clearly better (the tagger often misses a
        character, 太[阳镜], 镜[子], or takes in a word, 'kids toys'). An English word in front
        of the thing (`names_the_thing`) pictures it but does not name it: 'dog leashes' shows
        the dog icon and stays 'dog leashes' (the copy said 'dog')."""
        cands = product_candidates(text, span)
        if not cands:
            return "", 0.0, 0
        icons, scores = self.nearest(cands)
        best = int(np.argmax(scores))
        if scores[0] < WEAK_MATCH and clearly_better(scores[best], scores[0]):
            named = cands[best] if names_the_thing(cands[best], span) else span
            return named, float(scores[best]), icons[best]
        return span, float(scores[best]), icons[0]

    def _better_run(self, text: str, runs: Sequence[str], found: tuple[str, float, int]
                    ) -> tuple[str, float, int]:
        """`found` (word, match, icon), or where it matches an icon well (>= WEAK_MATCH; a
        weak one gives way to any word of the brief, `_best_word`) the word of another product
        run the tagger marked (`runs`, `product_word`) that matches an icon best, if clearly
        better (`clearly_better`): the tagger weighs a heading over the product it names ('gift
        guide', 0.73, in 'Holiday gift guide - pizza 15% off', 0.82)."""
        if found[1] < WEAK_MATCH:
            return found
        others = [self.product_word(text, run) for run in runs if run != found[0]]
        best = max(others, key=lambda other: other[1], default=found)
        return best if clearly_better(best[1], found[1]) else found

    def place(self, und: Understood) -> None:
        """The product word of a brief (`product_word`). A span that matches its icon weakly
        (< WEAK_MATCH) gives way to the brief's word that names a product (`_best_word`); one
        that matches none (< PRODUCT_MATCH: 'eod', 'b') and has no such word is no product, and
        the brief is refused naming it; a span that matches an icon clearly (>= WEAK_MATCH) in
        a brief of a known size is placed even where the "understood" head doubts the brief as
        a whole (太阳镜春季新品)."""
        if not und.product:
            self._find_product(und)
            return
        word, match, icon = self.product_word(und.text, und.product)
        if len(word) == 1 and word.isascii():  # no product is one letter: 'a' of 'half price'
            match = 0.0
        if word == und.product and match < WEAK_MATCH and und.offer_tagged > und.tagged:
            match = 0.0  # the tagger reads the weak span more as the offer's: 'half price!!!'
        word, match, icon = self._better_run(und.text, und.product_runs, (word, match, icon))
        if match < WEAK_MATCH:  # 'vitamin' (0.51) of 'vitamin C serum' (0.59)
            word, match, icon = self._runs_on((word, match, icon), und.text)
        if match < WEAK_MATCH:  # 'dimensions' (0.54) in 'Advert: green tea, dimensions 300x600'
            word, match, icon = max((word, match, icon), self._best_word(und.text),
                                    key=lambda found: found[1])
        if match < WEAK_MATCH:  # a typo the match places nowhere ('footablls') or wrongly
            word, match, icon = self._typo_weighed((word, match, icon))  # ('candels': a necklace)
        if match < PRODUCT_MATCH and und.sure >= SURE_BRIEF and und.tagged >= SURE_TAG \
                and len(word) > 1:
            und.product = word  # the icon set has no picture of it ('jeans', 'kombucha')
            return
        if match < PRODUCT_MATCH:  # `_best_word` and the typo fix found nothing either
            und.product, und.understood = "", False
            und.unplaced = [word, *und.unplaced]
            return
        und.product = self.spelled(word, icon)
        if not und.understood and match >= WEAK_MATCH and und.size in SIZES:
            und.understood, und.unplaced = True, []

    def _runs_on(self, found: tuple[str, float, int], text: str) -> tuple[str, float, int]:
        """A weakly matched English product word (word, match, icon), or it with the one or two
        words that follow it in the brief (up to punctuation or a number), where that matches
        an icon better by CLEAR_GAIN: the tagger stops at a letter inside a name ('vitamin' of
        'vitamin C serum', the copy then named a vitamin)."""
        at = text.lower().find(found[0].lower()) if found[0].isascii() else -1
        if at < 0 or not found[0]:
            return found
        end = at + len(found[0])
        after = re.match(r"(?:\s+[A-Za-z][A-Za-z\-']*){1,2}", text[end:])
        if not after:
            return found
        nexts = after.group(0).split()
        longer = [text[at:end] + " " + " ".join(nexts[:k]) for k in range(1, len(nexts) + 1)]
        icons, scores = self.nearest(longer)
        best = int(np.argmax(scores))
        return (longer[best], float(scores[best]), icons[best]) \
            if scores[best] - found[1] >= CLEAR_GAIN else found

    def _typo_weighed(self, found: tuple[str, float, int]) -> tuple[str, float, int]:
        """A weakly matched (< WEAK_MATCH) product word (word, match, icon), or its typo fix
        (`_typo_fixed`) where that matches an icon clearly better (`clearly_better`): a fix the
        match places no better than that is no product word either ('rackets' -> 'rockets',
        0.52; 'hoses' -> 'holes', 0.51), and a word matching none is refused as written."""
        fixed = self._typo_fixed(found[0])
        return fixed if clearly_better(fixed[1], found[1]) else found

    def _typo_fixed(self, word: str) -> tuple[str, float, int]:
        """`word` as the icon set spells a word one typo from it (any slug's word,
        `spelling.respellings`; of several, the one the icon match places best), with its
        match and icon; ('', 0.0, 0) where no slug word is one typo away. The n-gram match
        reads most typos, but not swaps in the middle of a word: 'footablls' and 'mufifns'
        matched no icon and their held-out briefs were refused; 'candels' matched a necklace
        (0.59) before 'candles' a candle."""
        known = self.slug_words()
        fixes = spelling.respellings(word, sorted(known), known)
        if not fixes:
            return "", 0.0, 0
        icons, scores = self.nearest(fixes)
        best = int(np.argmax(scores))
        return fixes[best], float(scores[best]), icons[best]

    def _find_product(self, und: Understood) -> None:
        """Where the tagger marked no product: the word of the brief that matches an icon best,
        if it matches one as well as products do (>= FOUND_MATCH; filler words, offers and
        gibberish stay below). A brief of a known size is then understood."""
        word, match, icon = self._best_word(und.text)
        if match >= FOUND_MATCH and und.size in SIZES:
            und.product = self.spelled(word, icon)
            und.understood, und.unplaced = True, []

    def _best_word(self, text: str) -> tuple[str, float, int]:
        """The word of the brief that matches an icon best, if it matches one as well as
        products are placed (>= FOUND_MATCH), with its match and icon; else ('', 0.0, 0)."""
        words = word_candidates(text)
        if not words:
            return "", 0.0, 0
        icons, scores = self.nearest(words)
        best = int(np.argmax(scores))
        if scores[best] < FOUND_MATCH:
            return "", 0.0, 0
        return words[best], float(scores[best]), icons[best]

    def spelled(self, product: str, icon: int) -> str:
        """`product` spelled as the slug of its nearest icon `icon` spells it (`nn/spelling.py`;
        the match that placed the product found that icon already)."""
        slugs, _ = self.slug_table()
        return spelling.respell(product, slugs[icon], self.slug_words())

    def slug_words(self) -> frozenset[str]:
        """Every word of every icon slug (computed once, cached)."""
        if self._slug_words is None:
            self._slug_words = spelling.slug_vocabulary(self.slug_table()[0])
        return self._slug_words
