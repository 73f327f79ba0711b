"""Alpaca Ads as a model kind: how the worker loads it and what a job item may be.

Light on purpose (no torch at import): the API checks every item of an ads job with
`check_item` before the job is stored, so a malformed size or colour is a 422 naming the field,
and the registry imports this module through the entry point `ads = "alpaca_ads.kind:KIND"`.

An item is a brief in free wording, or an object whose given fields override what the model
would choose: {"brief": "...", "size": "728x90", "brand_colors": ["#0A2540"], "language": "zh",
"headline": null, "subline": null, "cta": null}. It is stored as canonical JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from kinds import ItemProblem, LoadOptions, ModelKind

from .domain.spec import LANGUAGES, SIZES, check_colour

FIELDS = ("brief", "size", "brand_colors", "language", "headline", "subline", "cta")
MAX_BRAND_COLOURS = 4
MAX_COPY_CHARS = 90  # the longest text an ad format takes (a description, Google's limit)


def check_item(item: Any) -> str:
    """The item as stored: a brief's text, or the canonical JSON of a structured item."""
    if isinstance(item, str):
        return item.strip()
    if not isinstance(item, dict):
        raise ItemProblem(f"must be a brief (string) or an object, got {type(item).__name__}")
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise ItemProblem(f"unknown field; an ads item takes {', '.join(FIELDS)}", unknown[0])
    brief = item.get("brief")
    if not isinstance(brief, str) or not brief.strip():
        raise ItemProblem("is required: the brief in free wording", "brief")
    clean = {"brief": brief.strip(), **_checked_options(item)}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True)


def _checked_options(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if item.get("size") is not None:
        if item["size"] not in SIZES:
            raise ItemProblem(f"size {item['size']!r} is not one of {', '.join(SIZES)}", "size")
        out["size"] = item["size"]
    if item.get("language") is not None:
        if item["language"] not in LANGUAGES:
            raise ItemProblem(f"language must be one of {', '.join(LANGUAGES)}", "language")
        out["language"] = item["language"]
    if item.get("brand_colors") is not None:
        out["brand_colors"] = _checked_colours(item["brand_colors"])
    for name in ("headline", "subline", "cta"):
        if item.get(name) is not None:
            out[name] = _checked_text(item[name], name)
    return out


def _checked_colours(colours: Any) -> list[str]:
    if not isinstance(colours, list) or not 1 <= len(colours) <= MAX_BRAND_COLOURS:
        raise ItemProblem(f"must be a list of 1 to {MAX_BRAND_COLOURS} colours", "brand_colors")
    checked = []
    for index, colour in enumerate(colours):
        try:
            checked.append(check_colour(colour))
        except ValueError as exc:
            raise ItemProblem(str(exc), f"brand_colors[{index}]") from None
    return checked


def _checked_text(text: Any, name: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ItemProblem("must be a non-empty string or null", name)
    if len(text.strip()) > MAX_COPY_CHARS:
        raise ItemProblem(f"is longer than {MAX_COPY_CHARS} characters", name)
    return text.strip()


def load(checkpoint_dir: str | None, options: LoadOptions) -> object:
    """The ads model from `checkpoint_dir` (None: the shipped default), with the process's torch
    threads set as `options.threads` asks (0 leaves torch's default): the worker runs one, as
    the shapes kind's engine does; torch's default of one per core ran 3-5x slower here."""
    import torch

    import alpaca_ads

    if options.threads:
        torch.set_num_threads(options.threads)
    return alpaca_ads.load(checkpoint_dir or None, device=options.device)


def tiny() -> object:
    """An untrained tiny ads model (backend tests)."""
    import alpaca_ads

    return alpaca_ads.tiny_model(seed=0)


def default_checkpoint() -> str:
    """Where the shipped ads checkpoint lies."""
    import alpaca_ads

    return str(alpaca_ads.DEFAULT_CHECKPOINT)


KIND = ModelKind(
    name="ads", default_model="ads", load=load, tiny=tiny, default_checkpoint=default_checkpoint,
    check_item=check_item,
    description="ad banners at real ad sizes with their copy, from a brief in English or Chinese",
    extras={"evaluate": "alpaca_ads.evaluate:main"},
)
