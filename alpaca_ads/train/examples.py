"""One training example of each kind, from the domain's briefs, designer, corruptions and
renderer, as numpy arrays (no torch). Batches are assembled in data.py.

- brief: the brief's ids, per-character tags and "placeable" labels, the heads' targets
  (negatives: only "understood" = 0, the size class where the size is unknown, and tags of the
  size span);
- copy: the copy's ids with placeholders and its conditioning (language, tone, style, size);
- layout: the layout net's inputs and the good design's targets;
- interactor: a corrupted design plus its issues as input, the good design as target;
- reader: a rendered banner's views, its per-element issues and control text.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from alpaca_ads.domain.spec import OFFER_KINDS, BriefSpec, Copy, Design

from ..nn import codec, palette
from ..nn.config import ISSUES, ROLES, SIZE_CLASSES, AdsConfig
from ..nn.designs import current_inputs, design_targets, layout_features, reader_inputs
from ..nn.text import N_STYLES
from ..nn.tokenizer import BOS, EOS, PAD, CharTokenizer, PieceVocab, normalise

IGNORE = -100


def _colour_phrases(spec: BriefSpec) -> list[tuple[str, int | None]]:
    """(phrase, named-colour index or None for a hex) of every way the brief may give a colour."""
    from alpaca_ads.domain import catalog

    out: list[tuple[str, int | None]] = []
    for hexcode in spec.brand_colors:
        out.append((hexcode, None))
        for i, c in enumerate(catalog.COLOURS):
            if c.hex == hexcode:
                out += [(w, i) for w in c.en + c.zh]
    return out


def _pad(ids: list[int], n: int, value: int = PAD) -> np.ndarray:
    return np.array((ids + [value] * n)[:n], np.int64)


def brief_example(text: str, spec: BriefSpec | None, reason: str | None,
                  tok: CharTokenizer, cfg: AdsConfig) -> dict[str, Any]:
    """Encoder inputs and targets of a positive (spec) or negative (reason) brief."""
    from alpaca_ads.domain.offers import offer_phrasings

    n, norm = cfg.max_brief, normalise(text)
    heads = {k: IGNORE for k in ("language", "tone", "size", "offer_kind", "percent",
                                 "amount_order", "has_threshold", "up_to")}
    colour_spans: list[tuple[int, int, int]] = []
    if spec is not None:
        phrases = _colour_phrases(spec)
        tags = codec.brief_tags(norm, spec, offer_phrasings(spec.offer, spec.language, True),
                                [p for p, _ in phrases])
        heads.update(_spec_heads(spec, norm, cfg))
        place = [1.0] * len(text)
        for phrase, named in phrases:
            at = norm.lower().find(phrase.lower())
            if named is not None and at >= 0:
                colour_spans.append((at, at + len(phrase), named))
    else:
        tags = [0] * len(text)
        for m in codec.SIZE_RE.finditer(norm):
            codec._mark(tags, norm.lower(), m.group(0), "size")
        place = [0.0 if reason == "gibberish" or (reason == "unknown_size" and t) else 1.0
                 for t in tags]
        if reason in ("gibberish", "unknown_size"):
            heads["size"] = SIZE_CLASSES.index("unknown")
    return {"brief": _pad(tok.encode(text)[:n], n), "tags": _pad(tags, n, IGNORE),
            "place": _pad([int(p) for p in place], n, IGNORE),
            "understood": int(spec is not None), **{f"h_{k}": v for k, v in heads.items()},
            "colour_spans": colour_spans}


def _spec_heads(spec: BriefSpec, norm: str, cfg: AdsConfig) -> dict[str, int]:
    o = spec.offer
    heads = {"language": 0 if spec.language == "en" else 1, "tone": cfg.tones.index(spec.tone),
             "size": SIZE_CLASSES.index(spec.size), "offer_kind": OFFER_KINDS.index(o.kind),
             "up_to": int(o.up_to), "percent": o.value if o.kind == "percent_off" else IGNORE,
             "has_threshold": int(o.threshold is not None) if o.kind == "amount_off" else IGNORE,
             "amount_order": IGNORE}
    if o.kind == "amount_off" and o.threshold is not None:
        nums = [int(x) for x in codec.re.findall(r"\d+", norm)]
        if o.value in nums and o.threshold in nums:
            heads["amount_order"] = int(nums.index(o.threshold) < nums.index(o.value))
    return heads


def copy_example(spec: BriefSpec, copy: Copy, variant: int, tok: PieceVocab,
                 cfg: AdsConfig) -> dict[str, Any]:
    """The decoder's copy target (placeholders for the product and the offer) and conditions;
    the style is the copywriter's `variant` that wrote the headline."""
    from alpaca_ads.domain import catalog
    from alpaca_ads.domain.offers import offer_renderings

    renderings = list(offer_renderings(spec.offer, spec.language))
    names = [spec.product_text, *catalog.product(spec.product).names(spec.language)]
    ids = codec.copy_ids(tok, copy, names, renderings)
    return {"copy": _pad(ids, cfg.max_text), "c_lang": 0 if spec.language == "en" else 1,
            "c_tone": cfg.tones.index(spec.tone), "c_style": variant % N_STYLES,
            "c_size": SIZE_CLASSES.index(spec.size)}


def design_colours(design: Design) -> list[str]:
    cols = [c for e in design.elements for c in (e.colour, e.background) if c]
    return cols + list(design.background)


def stand_in(spec: BriefSpec, design: Design, cfg: AdsConfig) -> str:
    """The tone colour the designer used for a brief without brand colours (the one whose
    candidates fit the design's colours best)."""
    if spec.brand_colors:
        return spec.brand_colors[0]
    cols = design_colours(design)
    return min(palette.tone_options(spec.tone), key=lambda d: palette.error(
        cols, palette.candidates((), cfg.palette_k, d)))


def layout_example(spec: BriefSpec, copy: Copy, design: Design,
                   cfg: AdsConfig) -> dict[str, Any]:
    """The layout net's inputs for (spec, copy) and the good design's targets."""
    x, cands = layout_features(spec.size, spec.tone, spec.language, copy, spec.brand_colors,
                               stand_in(spec, design, cfg), cfg)
    t = design_targets(design, cands, cfg)
    icon = design.element("icon")
    meta = json.dumps({"spec": spec.to_json(), "copy": copy.to_json(), "cands": cands,
                       "icon": icon.icon if icon else None}, ensure_ascii=False)
    return {**{f"x_{k}": v for k, v in x.items()}, **{f"t_{k}": v for k, v in t.items()},
            "meta": meta}


def issues_of(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    """role -> issue names, from corrupt()'s [(role, issue)] (unknown names are dropped)."""
    out: dict[str, set[str]] = {}
    for role, issue in pairs:
        if role in ROLES and issue in ISSUES:
            out.setdefault(role, set()).add(issue)
    return out


def interactor_example(spec: BriefSpec, copy: Copy, design: Design, bad: Design,
                       issues: dict[str, set[str]], cfg: AdsConfig) -> dict[str, Any]:
    """The interactor's inputs (the bad design and its issues) and targets (the good design)."""
    ex = layout_example(spec, copy, design, cfg)
    cands = palette.candidates(spec.brand_colors, cfg.palette_k, stand_in(spec, design, cfg))
    cur = current_inputs(bad, issues, cands, cfg)
    return {**ex, **{f"x_{k}": v for k, v in cur.items()}}


def reader_example(image: np.ndarray, design: Design, issues: dict[str, set[str]],
                   tok: PieceVocab, cfg: AdsConfig) -> dict[str, Any]:
    """The reader's views of a rendered banner, its issue labels and its control text."""
    whole, crops, geom = reader_inputs(image, design, cfg)
    labels = np.array([[float(i in issues.get(r, set())) for i in ISSUES] for r in ROLES],
                      np.float32)
    ctrl = [BOS] + tok.encode_control(codec.control_text(design, issues)) + [EOS]
    return {"r_whole": whole, "r_crops": crops, "r_geom": geom, "r_issues": labels,
            "r_ctrl": _pad(ctrl, 48)}
