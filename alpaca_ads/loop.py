"""The multi-round loop of Alpaca Ads: a Python generator yielding one `AdsStep` per round.

Round 0: E reads each brief (a brief it cannot understand fails with the words it could not
place, a 1x1 placeholder image, and is done); D writes the copy, G the design, the painter the
background; the banner is rendered; the reader + D write its control text ("headline top
overflow; cta bottom-right ok; ..."). Agreement = share of (element, check) pairs the control
text finds OK (1.0 = no issue). Then each round, the items below 1.0 go through the interactor
I, are re-rendered and re-read, and an edit is kept only if the reading improves (`keep_edit`:
fewer faults measured on the design as set, then a better agreeing control text).
With `early_exit` an item with no measured fault and an agreement of 1.0 is done and stays
fixed. Every item has its own
`torch.Generator` seeded by its seed, so the same brief, seed and checkpoint give the same
banner whatever else is in the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from alpaca_ads.domain.checks import layout_issues
from alpaca_ads.domain.spec import Copy, Design
from kinds import check_generate_args

from .nn.codec import agreement
from .nn.palette import tone_default
from .nn.text import styles_for

PLACEHOLDER = np.zeros((1, 1, 3), np.uint8)


@dataclass(frozen=True)
class AdsStep:
    """One round of a batch (the fields of kinds.Step, plus `failures`)."""

    round: int
    images: list[np.ndarray]  # uint8 (H, W, 3) per item; sizes differ per item
    control_texts: list[str]
    agreement: list[float]
    done: list[bool]
    payloads: list[dict[str, Any]]
    failures: list[tuple[str, str] | None]
    refusals: list[Any] = field(default_factory=list)  # kinds.ItemRefusal or None per item


Reading = tuple[int, float]  # (faults measured on the set design, weighted; the agreement)
# A fault anyone sees (text over text, out of its box or the margin, too faint) weighs more
# than type under the format's smallest size: an edit that set a 16 px headline at 23 px on
# two lines over the subline counted one fault for one and was kept (showcase banner 8).
FAULT_WEIGHTS = {"too_small": 1}
SEEN_FAULT = 2


def reading(design: Design, control: str) -> Reading:
    """How a rendered round reads: the faults the typesetter measures on the design as set
    (text not fitting its box, overlap, safe margin, contrast, type too small; weighted by
    FAULT_WEIGHTS) and the agreement of the reader's control text."""
    faults = sum(FAULT_WEIGHTS.get(issue, SEEN_FAULT) for _, issue in layout_issues(design))
    return faults, agreement(control)


def finished(now: Reading) -> bool:
    """An item is done when nothing is measured wrong and its control text finds no issue."""
    return now[0] == 0 and now[1] >= 1.0


def keep_edit(old: Reading, new: Reading) -> bool:
    """Keep an interactor edit only if the reading improves: fewer measured faults, or as many
    and a control text that agrees better."""
    return (new[0], -new[1]) < (old[0], -old[1])


@dataclass
class _Item:
    und: Any
    row: int
    copy: Copy | None = None
    design: Design | None = None
    image: np.ndarray = field(default_factory=lambda: PLACEHOLDER)
    control: str = ""
    agree: float = 0.0
    done: bool = False
    failure: tuple[str, str] | None = None


def _refusal(und: Any) -> tuple[str, str]:
    words = ", ".join(repr(w) for w in und.unplaced[:6]) or "(nothing)"
    return ("brief_not_understood", f"could not place: {words}")


def _refusals(failures: list[tuple[str, str] | None]) -> list[Any]:
    """kinds.ItemRefusal per failed item (plain tuples where the seam is not importable)."""
    try:
        from kinds import ItemRefusal
    except ImportError:
        return list(failures)
    return [ItemRefusal(*f) if f else None for f in failures]


def _step(r: int, items: list[_Item]) -> AdsStep:
    payloads = [{"copy": it.copy.to_json() if it.copy else None,
                 "design": it.design.to_json() if it.design else None,
                 "brief": it.und.to_json(), "language": it.und.language} for it in items]
    failures = [it.failure for it in items]
    return AdsStep(r, [it.image for it in items], [it.control for it in items],
                   [it.agree for it in items], [it.done for it in items], payloads, failures,
                   _refusals(failures))


def generate_steps(model: Any, items: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                   early_exit: bool = True) -> Iterator[AdsStep]:
    """Yield round 0 .. `rounds` (fewer when every item is done early)."""
    check_generate_args(items, seeds, rounds)
    if not items:
        return
    with torch.inference_mode():
        unds, enc = model.understand(items)
        state = [_Item(u, i) for i, u in enumerate(unds)]
        for it in state:
            if not it.und.understood:
                it.failure, it.done, it.control = _refusal(it.und), True, ""
        live = [it for it in state if it.failure is None]
        if live:
            _first_round(model, live, enc, [int(seeds[it.row]) for it in live])
        for it in live:
            it.done = early_exit and finished(reading(it.design, it.control))
        yield _step(0, state)
        for r in range(1, rounds + 1):
            todo = [it for it in live if not it.done]
            if not todo:
                return
            _refine(model, todo, enc)
            for it in todo:
                it.done = early_exit and finished(reading(it.design, it.control))
            yield _step(r, state)


def _brands(items: list[_Item]) -> list[str | None]:
    """The first brand colour each item's brief gave (None where it gave none)."""
    return [it.und.brand_colors[0] if it.und.brand_colors else None for it in items]


def _first_round(model: Any, live: list[_Item], enc: dict, seeds: list[int]) -> None:
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    rows = [it.row for it in live]
    unds = [it.und for it in live]
    for u, s in zip(unds, seeds, strict=True):
        u.default_colour = tone_default(u.tone, s)
    copies = model.write_copy(unds, enc, rows, gens, styles_for(seeds))
    summary = enc["memory"][torch.tensor(rows), 0]
    designs, images = model.paint_and_render(model.first_designs(unds, copies, summary, gens),
                                             _brands(live))
    controls = model.read(images, designs)
    for it, c, d, im, ctl in zip(live, copies, designs, images, controls, strict=True):
        it.copy, it.design, it.image, it.control, it.agree = c, d, im, ctl, agreement(ctl)


def _refine(model: Any, todo: list[_Item], enc: dict) -> None:
    rows = torch.tensor([it.row for it in todo])
    designs = model.refine([it.und for it in todo], [it.copy for it in todo],
                           enc["memory"][rows, 0], [it.design for it in todo],
                           [it.control for it in todo])
    designs, images = model.paint_and_render(designs, _brands(todo))
    controls = model.read(images, designs)
    for it, d, im, ctl in zip(todo, designs, images, controls, strict=True):
        if keep_edit(reading(it.design, it.control), reading(d, ctl)):
            it.design, it.image, it.control, it.agree = d, im, ctl, agreement(ctl)
