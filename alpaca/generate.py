"""The multi-round generate loop: a Python generator that yields every round.

Per item: round 0 draws a layout with the generator G (seeded by the item's own
`torch.Generator`, so batch composition never changes an item) and paints it; then, each round,
the text decoder D writes the control text of the current image, its agreement with the prompt is
measured, and items that do not agree yet are refined by the interactor I. With `early_exit`, an
item whose control text agrees (agreement == 1.0) is done: its image, control text and agreement
stay fixed, and the loop stops as soon as every item is done.

Agreement compares the control text with the prompt through the domain's parser
(`domain.agreement(parse(prompt), scene_from_caption(control))`); a prompt or control text the
parser cannot read scores 0.0 and the item simply runs every round. The loop knows nothing of
tokens or pixels beyond the model's methods.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .model import Alpaca, prompt_lang

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    round: int  # 0 = the generator's first image, 1.. = interactor rounds
    images: np.ndarray  # uint8 (B, H, W, 3)
    control_texts: list[str]  # what the text decoder reads in each image
    agreement: list[float]  # control text vs prompt, in [0, 1]
    done: list[bool]  # exited early: agrees with the prompt and stays fixed


def agreement(prompt: str, control_text: str) -> float:
    """How far the control text agrees with the prompt, in [0, 1]; 0.0 if either is unreadable."""
    from . import domain

    try:
        spec = domain.parse(prompt)
        scene = domain.scene_from_caption(control_text)
    except ValueError:
        return 0.0
    return float(min(1.0, max(0.0, domain.agreement(spec, scene))))


def _check_args(prompts: Sequence[str], seeds: Sequence[int], rounds: int) -> None:
    if len(prompts) != len(seeds):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if not all(isinstance(p, str) for p in prompts):
        raise ValueError("prompts must be strings")


def generate_steps(model: Alpaca, prompts: Sequence[str], seeds: Sequence[int],
                   rounds: int = 3, early_exit: bool = True) -> Iterator[Step]:
    """Yield round 0 .. `rounds` (fewer when every item is done early)."""
    _check_args(prompts, seeds, rounds)
    if not prompts:
        return
    langs = [prompt_lang(p) for p in prompts]
    dtype = model.compute_dtype
    autocast = torch.autocast(model.device.type, dtype=dtype, enabled=dtype is not None)
    with torch.inference_mode(), autocast:
        prompt = model.encode_text(prompts)
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        images = model.to_uint8(model.compose(model.first_draft(prompt, generators)))
        controls = model.read(images, langs)
        agree = [agreement(p, c) for p, c in zip(prompts, controls, strict=True)]
        done = [early_exit and a >= 1.0 for a in agree]
        yield Step(0, images.copy(), list(controls), list(agree), list(done))
        for r in range(1, rounds + 1):
            todo = [i for i, d in enumerate(done) if not d]
            if not todo:
                return
            _refine(model, todo, prompt, prompts, langs, images, controls, agree)
            done = [early_exit and a >= 1.0 for a in agree]
            yield Step(r, images.copy(), list(controls), list(agree), list(done))


def keep_edit(old_agreement: float, new_agreement: float) -> bool:
    """Whether an interactor edit replaces the image: only if the new control text agrees with
    the prompt better than the old one did. An edit the model itself does not see as an
    improvement is dropped, so the loop rarely breaks what round 0 got right."""
    return new_agreement > old_agreement


def _refine(model: Alpaca, todo: list[int], prompt: tuple[torch.Tensor, ...],
            prompts: Sequence[str], langs: list[str], images: np.ndarray, controls: list[str],
            agree: list[float]) -> None:
    """One interactor round on the items in `todo`; updates images/controls/agree in place
    for the edits that `keep_edit` accepts."""
    rows = torch.tensor(todo, device=prompt[0].device)
    sub_prompt = tuple(t[rows] for t in prompt)
    layout = model.refine(images[todo], sub_prompt, [controls[i] for i in todo])
    edited = model.to_uint8(model.compose(layout))
    new_controls = model.read(edited, [langs[i] for i in todo])
    for j, (i, control) in enumerate(zip(todo, new_controls, strict=True)):
        new_agree = agreement(prompts[i], control)
        if keep_edit(agree[i], new_agree):
            images[i], controls[i], agree[i] = edited[j], control, new_agree
    log.debug("refined %d items", len(todo))
