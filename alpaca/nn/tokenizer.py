"""Word-level tokenizer for English and Chinese with a fallback for words it has never seen.

Text is normalised (lower case, whitespace collapsed) and split into pieces: runs of CJK characters,
runs of letters (words), runs of digits (numbers), and single other characters. An English piece in
the vocabulary is one token; a word outside it is spelled with letter pieces ("c", "##r", ...).
Chinese has no spaces, so a CJK run is cut into the longest vocabulary entries from the left
(forward maximum matching). The vocabulary holds every CJK character of the corpus plus either a
dictionary of words (`build(words=...)`: the domain's lexicon, so "绿色" and "三角形" are one token
each and no token straddles two words) or, without one, the corpus's most frequent 2-character
strings. Mined strings cross word boundaries ("的绿", "色实" in "的绿色实心"), which splits a
colour and a style across tokens; a dictionary does not. Anything without a piece (an
unseen CJK character, an emoji) falls back to its UTF-8 bytes ("<0xE7>"), so every string encodes
and decodes.

Spacing is not stored: `decode` puts one space between two Latin pieces and after ASCII
punctuation that is followed by a Latin piece, and none next to CJK text. `decode(encode(t))`
therefore returns `normalize(t)` for text written that way (the domain's prompts and captions).

The tokenizer knows nothing of the model; its vocabulary is saved in the checkpoint JSON.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
LANG_TOKENS = {"en": "<en>", "zh": "<zh>"}
SPECIALS = (PAD, BOS, EOS, *LANG_TOKENS.values())
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(rf"[{_CJK}]+|[^\W\d_{_CJK}]+|\d+|\S")
MAX_CJK_WORD = 2  # longest mined Chinese string (2: never a colour + a shape)
_LETTERS = string.ascii_lowercase + string.digits
_BYTE_PIECES = tuple(f"<0x{b:02X}>" for b in range(256))
_SPACE_AFTER = set(",.;:!?")


def normalize(text: str) -> str:
    """Lower case with runs of whitespace collapsed to one space."""
    return " ".join(text.lower().split())


def pieces(text: str) -> list[str]:
    """Split normalised text into CJK runs, words, numbers and single symbols."""
    return _PIECE.findall(normalize(text))


def is_cjk(text: str) -> bool:
    """True when `text` holds at least one CJK character (the Chinese prompts)."""
    return re.search(f"[{_CJK}]", text) is not None


def _latin(piece: str) -> bool:
    return piece[:1].isalnum() and not is_cjk(piece[:1])


class Tokenizer:
    """Maps text to token ids and back; `vocab` is the ordered list of token strings."""

    def __init__(self, vocab: Iterable[str]):
        self.vocab = list(vocab)
        if tuple(self.vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary must start with the special tokens {SPECIALS}")
        self.index = {tok: i for i, tok in enumerate(self.vocab)}
        if len(self.index) != len(self.vocab):
            raise ValueError("vocabulary has duplicate tokens")
        self.pad_id, self.bos_id, self.eos_id = (self.index[t] for t in (PAD, BOS, EOS))
        self.max_cjk = max([len(t) for t in self.vocab if is_cjk(t[:1])], default=1)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, cjk_words: int = 200,
              words: Iterable[str] = ()) -> Tokenizer:
        """A vocabulary of the specials, the fallback pieces, every non-CJK piece and CJK
        character seen in `texts`, and the multi-character CJK dictionary `words` or, when none
        is given, the `cjk_words` most useful multi-character CJK strings of `texts`."""
        dictionary = sorted({w for w in words if len(w) > 1 and is_cjk(w)})
        counts: Counter[str] = Counter()
        substrings: Counter[str] = Counter()
        for piece in (p for text in texts for p in pieces(text)):
            if not is_cjk(piece[0]):
                counts[piece] += 1
                continue
            counts.update(piece)  # single characters
            for n in range(2, MAX_CJK_WORD + 1):
                substrings.update(piece[i : i + n] for i in range(len(piece) - n + 1))
        fallback = [*_LETTERS, *("##" + c for c in _LETTERS), *_BYTE_PIECES]
        seen = sorted(p for p, n in counts.items() if n >= min_count and p not in fallback)
        ranked = sorted(substrings.items(), key=lambda kv: (-kv[1] * (len(kv[0]) - 1), kv[0]))
        mined = sorted(w for w, n in ranked[:cjk_words] if n >= max(2, min_count))
        extra = [w for w in dictionary or mined if w not in counts]
        return cls([*SPECIALS, *fallback, *seen, *extra])

    def __len__(self) -> int:
        return len(self.vocab)

    def lang_id(self, lang: str) -> int:
        """Token id of the language tag that starts a control text ("en" or "zh")."""
        if lang not in LANG_TOKENS:
            raise ValueError(f"unknown language {lang!r}")
        return self.index[LANG_TOKENS[lang]]

    def _spell(self, piece: str) -> list[int]:
        ids: list[int] = []
        for i, ch in enumerate(piece):
            tok = ch if i == 0 else "##" + ch
            if tok in self.index:
                ids.append(self.index[tok])
            else:
                ids.extend(self.index[f"<0x{b:02X}>"] for b in ch.encode("utf-8"))
        return ids

    def _segment(self, run: str) -> list[int]:
        """Longest-match segmentation of a CJK run; unknown characters fall back to bytes."""
        ids, i = [], 0
        while i < len(run):
            for n in range(min(self.max_cjk, len(run) - i), 0, -1):
                tok = self.index.get(run[i : i + n])
                if tok is not None:
                    ids.append(tok)
                    break
            else:
                n = 1
                ids.extend(self.index[f"<0x{b:02X}>"] for b in run[i].encode("utf-8"))
            i += n
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (no BOS/EOS)."""
        ids: list[int] = []
        for piece in pieces(text):
            if is_cjk(piece[0]):
                ids.extend(self._segment(piece))
                continue
            tok = self.index.get(piece)
            ids.extend([tok] if tok is not None else self._spell(piece))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; specials are dropped, byte pieces are joined and decoded as UTF-8."""
        words: list[str] = []  # whole pieces, spelled words joined back together
        raw = bytearray()
        for i in ids:
            tok = self.vocab[int(i)] if 0 <= int(i) < len(self.vocab) else PAD
            if tok in SPECIALS:
                continue
            if tok.startswith("<0x") and len(tok) == 6:
                raw.append(int(tok[3:5], 16))
                continue
            if raw:
                self._append(words, raw.decode("utf-8", errors="replace"), glue=True)
                raw.clear()
            if tok.startswith("##"):
                self._append(words, tok[2:], glue=True)
            else:
                words.append(tok)
        if raw:
            self._append(words, raw.decode("utf-8", errors="replace"), glue=True)
        return _join(words)

    @staticmethod
    def _append(words: list[str], text: str, glue: bool) -> None:
        if glue and words and _latin(words[-1]) and not is_cjk(text[:1]):
            words[-1] += text
        else:
            words.append(text)


def _join(words: list[str]) -> str:
    out = ""
    for i, word in enumerate(words):
        prev = words[i - 1] if i else ""
        spaced = _latin(word) and (_latin(prev[-1:]) or prev in _SPACE_AFTER)
        out += (" " if spaced else "") + word
    return out
