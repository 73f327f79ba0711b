"""Reading prompts and captions of the creative domain back into specs and scenes.

Knows: how to cut English or Chinese text into tokens (noun phrases, cells, relations,
backgrounds, counting cues, separators and meaningless filler words), how those tokens combine
into a `Spec`, and the caption format of `grammar`. It is strict: text with a word it does not
know raises ValueError naming that word, so the judge never checks less than a prompt says.
Canonical order: a relation's subject becomes objects[0] and its object objects[1]; other
objects follow in text order.
Does not know: sentence frames (any order of known tokens is read), sampling, pixels, models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .lexicon import (
    CELL_WORDS, COLOUR_WORDS, COUNT_CUES_EN, COUNT_CUES_ZH, FILLERS_EN, FILLERS_ZH, NUMBER_WORDS,
    RELATION_WORDS, SHAPE_WORDS, SIZE_WORDS, STYLE_WORDS, SYNONYMS_EN, SYNONYMS_ZH, reverse,
)
from .scene import CAPTION, ObjectSpec, Placed, Relation, Scene, Spec, cell_centre

_PUNCTUATION = str.maketrans({"，": ",", "。": ".", "；": ";", "：": ":", "！": "!", "？": "?",
                              "、": ","})
_CJK = re.compile(r"[\u4e00-\u9fff]")
CAPTION_PREFIXES = ("scene:", "画面:")


@dataclass(frozen=True)
class Token:
    kind: str  # SPACE SEP BG CUE CELL REL LOC NP FILLER
    value: object  # BG: (top, bottom); CELL: (row, col); REL: relation; NP: ObjectSpec
    text: str  # the matched text


def _alt(words) -> str:
    """Regex alternation, longest first so "top center" wins over "center"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class _Lexicon:
    colours: dict
    shapes: dict
    adjectives: dict  # written form -> ("colour" | "size" | "style", key)
    cells: dict
    relations: dict
    numbers: dict
    adjective_re: re.Pattern  # finds each adjective inside a noun phrase
    patterns: tuple  # (kind, compiled regex), tried in order at each position


def _adjectives(lang: str, synonyms: dict) -> dict:
    out = {}
    for kind, table in (("colour", COLOUR_WORDS), ("size", SIZE_WORDS), ("style", STYLE_WORDS)):
        out.update({w: (kind, key) for w, key in reverse(table, lang, synonyms).items()})
    return out


def _numbers(lang: str, synonyms: dict) -> dict:
    out = {w: n for w, n in reverse(NUMBER_WORDS, lang, synonyms).items()}
    out.update({str(n): n for n in NUMBER_WORDS})
    if lang == "en":
        out.update({"a": 1, "an": 1})
    return out


@lru_cache(maxsize=None)
def lexicon(lang: str) -> _Lexicon:
    """Word maps and token patterns of one language."""
    syn = SYNONYMS_EN if lang == "en" else SYNONYMS_ZH
    colours, shapes = reverse(COLOUR_WORDS, lang, syn), _shapes(lang, syn)
    adjectives, numbers = _adjectives(lang, syn), _numbers(lang, syn)
    cells, relations = reverse(CELL_WORDS, lang, syn), reverse(RELATION_WORDS, lang, syn)
    words = dict(C=_alt(colours), S=_alt(shapes), A=_alt(adjectives), N=_alt(numbers),
                 L=_alt(cells), R=_alt(relations))
    table = _PATTERNS_EN if lang == "en" else _PATTERNS_ZH
    fillers, cues = (FILLERS_EN, COUNT_CUES_EN) if lang == "en" else (FILLERS_ZH, COUNT_CUES_ZH)
    words.update(F=_alt(fillers), Q=_alt(cues))
    patterns = tuple((kind, re.compile(p.format(**words))) for kind, p in table)
    adjective_re = re.compile(words["A"])
    return _Lexicon(colours, shapes, adjectives, cells, relations, numbers, adjective_re, patterns)


def _shapes(lang: str, synonyms: dict) -> dict:
    return reverse(SHAPE_WORDS, lang, synonyms)


_END = r"(?![a-z])"  # English tokens end at a word boundary
_ON = r"(?:(?:on|against) )?(?:an? )?"
_PATTERNS_EN = (
    ("SPACE", r"\s+"), ("SEP", r"[,.;:!?]+"),
    ("BG", _ON + r"gradient(?: background)? from (?P<x>{C}) to (?P<y>{C})" + _END),
    ("BG", _ON + r"(?P<x>{C}) to (?P<y>{C}) gradient(?: background)?" + _END),
    ("BG", _ON + r"(?P<x>{C}) background" + _END),
    ("CUE", r"(?:{Q})" + _END),
    ("CELL", r"(?:(?:in|at) (?:the )?)?(?P<cell>{L})(?: corner)?" + _END),
    ("REL", r"(?P<rel>{R})" + _END),
    ("NP", r"(?:(?P<num>{N}) +)?(?P<adj>(?:(?:{A}) +)*)(?P<shape>{S})" + _END),
    ("FILLER", r"(?:{F})" + _END),
)
_PATTERNS_ZH = (
    ("SPACE", r"\s+"), ("SEP", r"[,.;:!?]+"),
    ("BG", r"在?从(?P<x>{C})到(?P<y>{C})的渐变背景上?"),
    ("BG", r"背景是从(?P<x>{C})到(?P<y>{C})的渐变"),
    ("BG", r"背景是(?P<x>{C})"),
    ("BG", r"在?(?P<x>{C})的?背景上?"),
    ("CUE", r"(?:{Q})"),
    ("CELL", r"(?P<cell>{L})"),
    ("REL", r"的?(?P<rel>{R})"),
    ("LOC", r"在|位于"),
    ("NP", r"(?:(?P<num>{N})个)?(?P<adj>(?:(?:{A})的?)*)(?P<shape>{S})"),
    ("FILLER", r"(?:{F})"),
)


def normalise(text: str) -> tuple[str, str]:
    """(language, text): full-width punctuation folded; Chinese without spaces; English
    lower-cased, with single spaces and none before punctuation."""
    lang = "zh" if _CJK.search(text) else "en"
    text = text.translate(_PUNCTUATION)
    if lang == "zh":
        return lang, re.sub(r"\s+", "", text)
    return lang, re.sub(r" (?=[,.;:!?])", "", " ".join(text.lower().split()))


def tokenise(text: str, lang: str) -> list[Token]:
    """Cut normalised text into tokens; ValueError at the first unknown word."""
    lex, pos, out = lexicon(lang), 0, []
    while pos < len(text):
        for kind, pattern in lex.patterns:
            m = pattern.match(text, pos)
            if m and m.end() > pos:
                out.append(Token(kind, _value(kind, m, lex), m.group(0)))
                pos = m.end()
                break
        else:
            rest = text[pos:pos + 20]
            raise ValueError(f"cannot parse {text!r}: unknown words at {rest!r}")
    return [t for t in out if t.kind not in ("SPACE", "FILLER")]


def _value(kind: str, m: re.Match, lex: _Lexicon) -> object:
    if kind == "BG":
        y = m.groupdict().get("y")
        return lex.colours[m.group("x")], (lex.colours[y] if y else None)
    if kind == "CELL":
        return lex.cells[m.group("cell")]
    if kind == "REL":
        return lex.relations[m.group("rel")]
    if kind == "NP":
        return _object(m, lex)
    return None


def _object(m: re.Match, lex: _Lexicon) -> ObjectSpec:
    attrs: dict[str, str] = {}
    for adj in lex.adjective_re.findall(m.group("adj")):
        kind, key = lex.adjectives[adj]
        if kind in attrs:
            raise ValueError(f"two {kind}s in {m.group(0)!r}")
        attrs[kind] = key
    count = lex.numbers[m.group("num")] if m.group("num") else 1
    return ObjectSpec(lex.shapes[m.group("shape")], attrs.get("colour"), attrs.get("size"),
                      attrs.get("style"), count)


def _adjacent_object(tokens: list[Token], k: int) -> int:
    """Index of the noun phrase next to token k (before it first), skipping 在/位于."""
    for step in (-1, 1):
        j = k + step
        while 0 <= j < len(tokens) and tokens[j].kind == "LOC":
            j += step
        if 0 <= j < len(tokens) and tokens[j].kind == "NP":
            return j
    raise ValueError(f"{tokens[k].text!r} is not next to an object")


def _cells(tokens: list[Token], nps: list[int]) -> dict[int, tuple[int, int]]:
    """Token index of a noun phrase -> the cell the text puts it in."""
    out: dict[int, tuple[int, int]] = {}
    for k, tok in enumerate(tokens):
        if tok.kind == "CELL":
            target = nps[0] if len(nps) == 1 else _adjacent_object(tokens, k)
            if target in out:
                raise ValueError(f"two positions for {tokens[target].text!r}")
            out[target] = tok.value
    return out


def _relation(tokens: list[Token], lang: str) -> tuple[int, str, int] | None:
    """(subject token, relation, object token), or None when the text states no relation.

    English: "A left of B". Chinese: "A在B的左边", "A位于B左边" or "在B的左边有A".
    """
    rels = [k for k, tok in enumerate(tokens) if tok.kind == "REL"]
    if not rels:
        return None
    if len(rels) > 1:
        raise ValueError("more than one relation")
    k = rels[0]
    if lang == "en":
        subject, obj = k - 1, k + 1
    else:
        obj = k - 1
        j = obj - 1 if obj > 0 and tokens[obj - 1].kind == "LOC" else obj
        subject = j - 1 if j > 0 and tokens[j - 1].kind == "NP" else k + 1
    if not all(0 <= i < len(tokens) and tokens[i].kind == "NP" for i in (subject, obj)):
        raise ValueError(f"relation {tokens[k].text!r} needs an object on each side")
    return subject, tokens[k].value, obj


def infer_category(objects: tuple[ObjectSpec, ...], relation: Relation | None, cue: bool) -> str:
    """The prompt category a set of stated constraints belongs to (one rule, used both ways)."""
    if relation is not None:
        return "two_objects" if len(objects) == 2 else "three_objects"
    if len(objects) > 1:
        return "colour_attribution"
    obj = objects[0]
    if cue or obj.count > 1:
        return "counting"
    if obj.cell is not None:
        return "position"
    if obj.style is not None:
        return "style"
    return "colours" if obj.colour is not None else "single_object"


def _background(tokens: list[Token]) -> tuple[str | None, str | None]:
    found = [tok.value for tok in tokens if tok.kind == "BG"]
    if len(found) > 1:
        raise ValueError("more than one background")
    return found[0] if found else (None, None)


def _prompt_spec(tokens: list[Token], lang: str) -> Spec:
    nps = [k for k, tok in enumerate(tokens) if tok.kind == "NP"]
    if not nps:
        raise ValueError("no object (shape) named")
    cells, rel = _cells(tokens, nps), _relation(tokens, lang)
    order = nps if rel is None else [rel[0], rel[2]] + [k for k in nps if k not in rel[::2]]
    objects = tuple(_with_cell(tokens[k].value, cells.get(k)) for k in order)
    relation = None if rel is None else Relation(0, rel[1], 1)
    cue = any(tok.kind == "CUE" for tok in tokens)
    background, gradient = _background(tokens)
    return Spec(infer_category(objects, relation, cue), objects, relation, background, gradient)


def _with_cell(obj: ObjectSpec, cell: tuple[int, int] | None) -> ObjectSpec:
    if cell is None:
        return obj
    return ObjectSpec(obj.shape, obj.colour, obj.size, obj.style, obj.count, cell)


def _caption_parts(text: str) -> tuple[tuple[str, str | None], list[ObjectSpec]]:
    """(background, fully stated objects with cells) of a caption; ValueError otherwise."""
    lang, text = normalise(text)
    prefix = next((p for p in CAPTION_PREFIXES if text.startswith(p)), None)
    if prefix is None:
        raise ValueError(f"not a caption (no {CAPTION_PREFIXES} prefix): {text!r}")
    clauses = [c.strip() for c in text[len(prefix):].split(";") if c.strip()]
    first = tokenise(clauses[0], lang) if clauses else []
    if [t.kind for t in first] != ["BG"]:
        raise ValueError(f"a caption starts with its background: {text!r}")
    return first[0].value, [_caption_object(c, lang) for c in clauses[1:]]


def _caption_object(clause: str, lang: str) -> ObjectSpec:
    tokens = tokenise(clause, lang)
    if sorted(t.kind for t in tokens) != ["CELL", "NP"]:
        raise ValueError(f"a caption clause names one object and its cell: {clause!r}")
    obj = next(t.value for t in tokens if t.kind == "NP")
    cell = next(t.value for t in tokens if t.kind == "CELL")
    if obj.count != 1 or None in (obj.colour, obj.size, obj.style):
        raise ValueError(f"a caption states colour, size and style of one object: {clause!r}")
    return _with_cell(obj, cell)


def is_caption(text: str) -> bool:
    return normalise(text)[1].startswith(CAPTION_PREFIXES)


def parse(text: str) -> Spec:
    """The Spec of a prompt (any phrasing) or caption, English or Chinese; ValueError if unknown."""
    if is_caption(text):
        background, objects = _caption_parts(text)
        if not objects:
            raise ValueError("the caption describes no object")
        return Spec(CAPTION, tuple(objects), None, *background)
    lang, norm = normalise(text)
    return _prompt_spec(tokenise(norm, lang), lang)


def scene_from_caption(text: str) -> Scene:
    """The scene a caption describes; each object sits at its cell's centre."""
    background, objects = _caption_parts(text)
    placed = tuple(Placed(o.shape, o.colour, o.size, o.style, o.cell, *cell_centre(o.cell))
                   for o in objects)
    return Scene(background, placed)
