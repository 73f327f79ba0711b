"""Grammar-constrained decoding of control texts: the canonical caption grammar as a token
automaton, so the text decoder D can only write control texts that `grammar.caption` could write.

A control text is the prefix and a background clause, then up to MAX_OBJECTS object clauses after
separators, in strictly increasing grid-cell order (`grammar.caption` sorts objects by cell and a
cell holds one object). The automaton is built from the tokenizer by encoding every clause the
grammar can write (one trie per language and clause kind), so it follows the tokenizer's own
segmentation. At each greedy step the decoder's scores of the tokens the automaton does not allow
are set to -inf: D still chooses every word among the allowed ones (which colour, which shape),
it can no longer write a colour where a shape belongs, half a Chinese word, a seventh object or a
cell out of order; and once D's pointer has chosen the cell a clause describes (`Cursor.pin`),
the clause's position words are that cell's.

Knows token ids and the grammar's clause strings; nothing of images, modules or the judge.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import torch

from alpaca.domain.grammar import CAPTION_PREFIX, CAPTION_SEP, background_phrase, object_clause
from alpaca.domain.lexicon import COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, STYLE_WORDS, word
from alpaca.domain.scene import CELLS, COLOUR_NAMES, MAX_OBJECTS, SHAPES, SIZES, STYLES, Placed
from .tokenizer import LANG_TOKENS, Tokenizer

ALL_CELLS = (1 << len(CELLS)) - 1


@dataclass
class _Node:
    """A trie node: the clauses below it cover `cells` (bitmask); `ends` are the cells of the
    clauses that end here (0: none, ALL_CELLS: a background clause)."""

    children: dict[int, _Node] = field(default_factory=dict)
    cells: int = 0
    ends: int = 0

    def add(self, ids: list[int], cells: int) -> None:
        node = self
        node.cells |= cells
        for token in ids:
            node = node.children.setdefault(token, _Node())
            node.cells |= cells
        node.ends |= cells


def _after(cell: int) -> int:
    """Bitmask of the cells after `cell` in raster order (-1: every cell)."""
    return ALL_CELLS & ~((1 << (cell + 1)) - 1)


def _background_clauses(lang: str) -> list[str]:
    solid = [background_phrase((c, None), lang) for c in COLOUR_NAMES]
    gradient = [background_phrase((a, b), lang)
                for a, b in itertools.permutations(COLOUR_NAMES, 2)]
    return [CAPTION_PREFIX[lang] + text for text in solid + gradient]


def _object_clauses(lang: str) -> list[tuple[str, int]]:
    """Every object clause with the index of its cell."""
    return [(object_clause(Placed(shape, colour, size, style, cell, 0.5, 0.5), lang), k)
            for shape in SHAPES for colour in COLOUR_NAMES for size in SIZES for style in STYLES
            for k, cell in enumerate(CELLS)]


def fact_words(tokenizer: Tokenizer, fields: dict[str, tuple[str, ...]]
               ) -> list[tuple[int, int, int]]:
    """The object clauses' attribute words that are one token: (token id, kind, fact index)
    for every value of every field (shape, colour, size, style, in that order, with the value
    names of `fields`) in every language. kind = field index * languages + language index;
    fact index = the value's place in the concatenated fact groups (vision.FACT_FIELDS).
    A word that is several tokens, or a token shared by two words, is left to the decoder."""
    langs = list(CAPTION_PREFIX)
    out, offset = [], 0
    for f, (field_name, names) in enumerate(fields.items()):
        for v, name in enumerate(names):
            for li, lang in enumerate(langs):
                ids = tokenizer.encode(_attribute_word(field_name, name, lang))
                if len(ids) == 1:
                    out.append((ids[0], f * len(langs) + li, offset + v))
        offset += len(names)
    shared = {t for t, n in Counter(t for t, _, _ in out).items() if n > 1}
    return [row for row in out if row[0] not in shared]


def _attribute_word(field_name: str, name: str, lang: str) -> str:
    table = {"shape": SHAPE_WORDS, "colour": COLOUR_WORDS, "size": SIZE_WORDS,
             "style": STYLE_WORDS}[field_name]
    form = word(table, name, lang)
    return form if isinstance(form, str) else form[0]


@dataclass
class _Language:
    background: _Node
    objects: _Node
    sep: int


class CaptionAutomaton:
    """The caption grammar over one tokenizer's ids; `begin` starts a cursor for a batch."""

    def __init__(self, tokenizer: Tokenizer):
        self.vocab_size = len(tokenizer)
        self.eos_id, self.pad_id = tokenizer.eos_id, tokenizer.pad_id
        self.langs: dict[int, _Language] = {}
        for lang in CAPTION_PREFIX:
            sep = tokenizer.encode(CAPTION_SEP[lang])
            if len(sep) != 1:
                raise ValueError(f"the {lang} clause separator is {len(sep)} tokens, not one")
            background, objects = _Node(), _Node()
            for text in _background_clauses(lang):
                background.add(tokenizer.encode(text), ALL_CELLS)
            for text, cell in _object_clauses(lang):
                objects.add(tokenizer.encode(text), 1 << cell)
            self.langs[tokenizer.index[LANG_TOKENS[lang]]] = _Language(background, objects, sep[0])
        self._masks: dict[tuple, torch.Tensor] = {}

    def begin(self, prefix: torch.Tensor) -> Cursor:
        """A cursor for a batch whose rows start with prefix (B, P) = [BOS, lang tag]."""
        langs = [self.langs[int(lang)] for lang in prefix[:, -1].tolist()]
        return Cursor(self, [_Row(lang, lang.background) for lang in langs])

    def allowed(self, row: _Row) -> torch.Tensor:
        """(V,) bool: the tokens `row` may write next (every token once it has ended)."""
        more = row.objects < MAX_OBJECTS  # whether another object clause may follow
        key = (id(row.node), row.free, more, row.ended)
        mask = self._masks.get(key)
        if mask is None:
            mask = torch.zeros(self.vocab_size, dtype=torch.bool)
            if row.ended:
                mask[:] = True
            else:
                mask[[t for t, child in row.node.children.items() if child.cells & row.free]] = True
                if row.node.ends & row.free:
                    mask[self.eos_id] = True
                    if more:
                        mask[row.lang.sep] = True
            self._masks[key] = mask
        return mask


@dataclass
class _Row:
    """Where one caption is in the grammar."""

    lang: _Language
    node: _Node  # where in the current clause's trie
    free: int = ALL_CELLS  # cells the current clause may still describe
    objects: int = 0  # object clauses begun so far
    ended: bool = False

    def advance(self, token: int, eos_id: int) -> None:
        if self.ended:
            return
        if token == eos_id:
            self.ended = True
        elif token == self.lang.sep and self.node.ends & self.free:
            if self.objects:  # after an object clause, the next object is in a later cell
                ends = self.node.ends & self.free
                self.free = _after((ends & -ends).bit_length() - 1)
            self.node, self.objects = self.lang.objects, self.objects + 1
        else:
            self.node = self.node.children.get(token, self.node)

    def pin(self, cell: int) -> None:
        """At the start of an object clause, allow only `cell`'s clauses (the cell the decoder
        points at), if the grammar allows that cell here at all."""
        if not self.ended and self.node is self.lang.objects and self.free >> cell & 1:
            self.free = 1 << cell


class Cursor:
    """The automaton's state for each row of a decoding batch."""

    def __init__(self, automaton: CaptionAutomaton, rows: list[_Row]):
        self.automaton, self.rows = automaton, rows

    def restrict(self, logits: torch.Tensor) -> torch.Tensor:
        """logits (B, V) -> the same with every token the grammar forbids at -inf."""
        mask = torch.stack([self.automaton.allowed(row) for row in self.rows]).to(logits.device)
        return logits.masked_fill(~mask, float("-inf"))

    def advance(self, tokens: torch.Tensor) -> None:
        for row, token in zip(self.rows, tokens.tolist(), strict=True):
            row.advance(token, self.automaton.eos_id)

    def pin(self, pointers: torch.Tensor) -> None:
        """pointers (B,) memory index each row's clause points at (0: background, 1 + cell):
        a new object clause may then only describe the pointed cell, so its position words
        follow the pointer instead of being chosen again word by word."""
        for row, ptr in zip(self.rows, pointers.tolist(), strict=True):
            if ptr > 0:
                row.pin(ptr - 1)

    def keep(self, rows: torch.Tensor) -> None:
        self.rows = [self.rows[i] for i in rows.tolist()]
