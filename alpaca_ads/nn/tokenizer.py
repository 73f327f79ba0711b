"""Character tokenizer: Unicode code points (Latin lowercased) plus a few special tokens.

Characters are robust to typos and cover Chinese without a word list. The vocabulary is every
printable ASCII character plus the characters seen in the training text; anything else is
<unk>. It is saved in the checkpoint JSON.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence

SPECIALS: tuple[str, ...] = ("<pad>", "<unk>", "<bos>", "<eos>", "<sep>", "<product>", "<offer>")
PAD, UNK, BOS, EOS, SEP, PRODUCT, OFFER = range(len(SPECIALS))
# Word tokens of the control text grammar: "<role> <position> <verdict...>" clauses joined by ";".
POSITIONS: tuple[str, ...] = ("top-left", "top", "top-right", "left", "center", "right",
                              "bottom-left", "bottom", "bottom-right")
CONTROL_WORDS: tuple[str, ...] = (
    "headline", "subline", "cta", "icon", "decoration", *POSITIONS, "ok", "overflow",
    "low_contrast", "overlap", "outside_margin", "too_small", ";")
FIRST_CONTROL = len(SPECIALS)
FIXED = SPECIALS + tuple(f"[{w}]" for w in CONTROL_WORDS)


def normalise(text: str) -> str:
    """Lowercase Latin letters, fold full-width ASCII (ＡＢ１２％ -> ab12%), unify spaces."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif ch in "\u3000\t\n\r":
            ch = " "
        out.append(ch.lower())
    return "".join(out)


class CharTokenizer:
    """Maps characters to ids and back. `vocab` is the list of tokens, specials first."""

    def __init__(self, vocab: Sequence[str]):
        if tuple(vocab[: len(FIXED)]) != FIXED:
            raise ValueError("vocabulary must start with the special and control tokens")
        self.vocab = list(vocab)
        self.index = {tok: i for i, tok in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str]) -> CharTokenizer:
        chars = set(string.printable.lower()) - set("\t\n\r\x0b\x0c")
        for text in texts:
            chars.update(normalise(text))
        return cls(list(FIXED) + sorted(chars))

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """One id per character of the normalised text (same length as `text`)."""
        return [self.index.get(ch, UNK) for ch in normalise(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids; specials other than <product>/<offer> are dropped."""
        keep = {PRODUCT: "<product>", OFFER: "<offer>"}
        return "".join(keep.get(i, self.vocab[i] if i >= len(FIXED) else "") for i in ids)

    def encode_control(self, text: str) -> list[int]:
        """Word ids of a control text ("headline top ok; cta bottom overflow")."""
        words = text.replace(";", " ; ").split()
        return [FIRST_CONTROL + CONTROL_WORDS.index(w) for w in words]

    def decode_control(self, ids: Iterable[int]) -> str:
        """Control text of word ids (other ids are skipped)."""
        words = [CONTROL_WORDS[i - FIRST_CONTROL] for i in ids
                 if FIRST_CONTROL <= i < FIRST_CONTROL + len(CONTROL_WORDS)]
        return " ".join(words).replace(" ;", ";")


PIECE_RE = re.compile(r" ?[A-Za-z0-9'’]+| ?[^\sA-Za-z0-9'’]| +")


def pieces_of(text: str) -> list[str]:
    """Latin words and numbers with their leading space; any other character on its own."""
    return PIECE_RE.findall(text)


class PieceVocab:
    """The text decoder's vocabulary: specials, control words, then copy pieces (English words
    with their leading space, as cased in the copy, and single characters). A piece not in the
    vocabulary is written character by character, so any text can be encoded."""

    def __init__(self, vocab: Sequence[str]):
        if tuple(vocab[: len(FIXED)]) != FIXED:
            raise ValueError("vocabulary must start with the special and control tokens")
        self.vocab = list(vocab)
        self.index = {tok: i for i, tok in enumerate(self.vocab)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> PieceVocab:
        counts: dict[str, int] = {}
        for text in texts:
            for piece in pieces_of(text):
                counts[piece] = counts.get(piece, 0) + 1
        chars = set(string.printable) - set("\t\n\r\x0b\x0c")
        chars.update(ch for text in texts for ch in text)
        words = {p for p, n in counts.items() if n >= min_count and len(p) > 1}
        return cls(list(FIXED) + sorted(chars) + sorted(words - chars))

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in pieces_of(text):
            if piece in self.index:
                ids.append(self.index[piece])
            else:
                ids += [self.index.get(ch, UNK) for ch in piece]
        return ids

    def text(self, i: int) -> str:
        """The text of one id ('' for specials and control words)."""
        return self.vocab[i] if i >= len(FIXED) else ""

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.text(i) for i in ids)

    encode_control = CharTokenizer.encode_control
    decode_control = CharTokenizer.decode_control
