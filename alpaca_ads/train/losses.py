"""The losses of joint training: loss = text loss + image loss + interactor loss.

- text: the encoder's tags, placeable flags, heads and named-colour spans; the decoder's copy
  (teacher forcing) and control text (from the reader's features); the reader's issue flags;
- image: the layout generator's heads on the good designs (presence, box, font, bold, lines,
  colours among the palette candidates, background), the painter's low-res background,
  the icon matcher's contrastive loss;
- interactor: the same layout heads, from a corrupted design and its issues to the good one,
  and (after `on_policy_after` of the run) from G's own flawed drafts to the good one.
Knows the model and the batch layout of data.py, not the loop.
"""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from ..model import AdsModel
from ..nn.tokenizer import PAD

TEXT_ROLES = slice(0, 3)  # headline, subline, cta
CTA = 2
HEADS = ("language", "tone", "size", "offer_kind", "percent", "amount_order", "has_threshold",
         "up_to")


def _ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ignoring -100; 0 when nothing is labelled."""
    if bool((target != -100).any()):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                               ignore_index=-100)
    return logits.sum() * 0.0


def no_loss(module: torch.nn.Module) -> torch.Tensor:
    """A zero loss tied to `module`'s parameters, so that a batch with nothing for a term still
    backpropagates where that term is all there is to train."""
    return sum(p.sum() for p in module.parameters()) * 0.0


def encoder_loss(model: AdsModel, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    out = model.enc(b["brief"])
    loss = 3.0 * _ce(out["tags"], b["tags"]) + _ce(out["understood"], b["understood"])
    for k in HEADS:
        loss = loss + _ce(out[k], b[f"h_{k}"])
    mask = b["place"] != -100
    loss = loss + F.binary_cross_entropy_with_logits(out["placeable"][mask],
                                                     b["place"][mask].float())
    return loss + 0.5 * colour_span_loss(model, out["memory"], b), out


def colour_span_loss(model: AdsModel, memory: torch.Tensor,
                     b: dict[str, torch.Tensor]) -> torch.Tensor:
    """The named-colour head's cross-entropy over the batch's colour spans (0 without any)."""
    if not b["cs_row"].numel():
        return no_loss(model.enc.colour)
    logits = model.enc.span_colour(memory[b["cs_row"]], b["cs_mask"])
    return F.cross_entropy(logits, b["cs_target"])


def copy_loss(model: AdsModel, b: dict[str, torch.Tensor], enc: dict) -> torch.Tensor:
    p = b["copy"].shape[0]
    mem, pad = model.dec.copy_memory(enc["memory"][:p], enc["memory_pad"][:p], b["c_lang"],
                                     b["c_tone"], b["c_style"], b["c_size"])
    ids = b["copy"]
    logits = model.dec(ids[:, :-1], mem, pad)
    target = ids[:, 1:].masked_fill(ids[:, 1:] == PAD, -100)
    return _ce(logits, target)


def reader_loss(model: AdsModel, b: dict[str, torch.Tensor]) -> torch.Tensor:
    """Issue flags + the control text D writes from the reader's features."""
    if "r_whole" not in b:
        return torch.zeros(())
    out = model.reader(b["r_whole"].float() / 255, b["r_crops"].float() / 255, b["r_geom"])
    present = b["r_geom"][..., -1:]
    flags = F.binary_cross_entropy_with_logits(out["issues"], b["r_issues"], weight=present)
    mem, pad = model.dec.control_memory(out["memory"])
    ids = b["r_ctrl"]
    logits = model.dec(ids[:, :-1], mem, pad)
    text = _ce(logits, ids[:, 1:].masked_fill(ids[:, 1:] == PAD, -100))
    return 2.0 * flags + text


def design_loss(pred: dict[str, torch.Tensor], t: dict[str, torch.Tensor]) -> torch.Tensor:
    """The layout heads' loss against a good design's targets (t: keys without prefix)."""
    present = t["present"]
    loss = F.binary_cross_entropy_with_logits(pred["present"], present)
    m = present.unsqueeze(-1)
    loss = loss + 8.0 * ((pred["box"] - t["box"]).abs() * m).sum() / m.sum().clamp(min=1) / 4
    tm = present[:, TEXT_ROLES]
    loss = loss + 2.0 * ((pred["font"][:, TEXT_ROLES] - t["font"][:, TEXT_ROLES]).abs()
                         * tm).sum() / tm.sum().clamp(min=1)
    loss = loss + F.binary_cross_entropy_with_logits(pred["bold"][:, TEXT_ROLES],
                                                     t["bold"][:, TEXT_ROLES], weight=tm)
    lines = t["lines"][:, TEXT_ROLES].masked_fill(tm == 0, -100)
    loss = loss + _ce(pred["lines"][:, TEXT_ROLES], lines)
    colour = t["colour"].masked_fill(present == 0, -100)
    loss = loss + _ce(pred["colour"], colour)
    loss = loss + _ce(pred["fill"][:, CTA], t["fill"][:, CTA].masked_fill(present[:, CTA] == 0,
                                                                          -100))
    return loss + _ce(pred["style"], t["style"]) + _ce(pred["bg"], t["bg"])


def _sub(b: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in b.items() if k.startswith(prefix)}


def layout_loss(model: AdsModel, b: dict, enc: dict,
                gen: torch.Generator) -> tuple[torch.Tensor, dict, dict]:
    """G's loss, and its inputs and predictions (for the on-policy interactor examples)."""
    x = _sub(b, "g_x_")
    p = x["size"].shape[0]
    x.update(brief=enc["memory"][:p, 0].detach(),
             noise=torch.randn(p, model.cfg.noise_dim, generator=gen))
    pred = model.layout(x)
    return design_loss(pred, _sub(b, "g_t_")), x, pred


def on_policy_loss(model: AdsModel, b: dict, x: dict, pred: dict) -> torch.Tensor:
    """The interactor on G's own drafts: each draft the domain's design checks find a layout
    issue in goes in with those issues; the good design is the target."""
    from alpaca_ads.domain.checks import find_issues
    from alpaca_ads.domain.spec import BriefSpec, Copy

    from ..nn.designs import current_inputs, to_design
    from .examples import issues_of

    drafts = model._decide({k: v.detach() for k, v in pred.items()})
    rows, cur = [], []
    for i, (meta, draft) in enumerate(zip(b["g_meta"], drafts, strict=True)):
        m = json.loads(str(meta))
        spec, copy = BriefSpec.from_json(m["spec"]), Copy(**m["copy"])
        design = to_design(draft, spec.size, m["cands"], copy, m["icon"], model.cfg)
        issues = issues_of(find_issues(spec, design))
        if issues:
            rows.append(i)
            cur.append(current_inputs(design, issues, m["cands"], model.cfg))
    if not rows:
        return torch.zeros(())
    idx = torch.tensor(rows)
    xi = {k: v[idx] for k, v in x.items()}
    xi.update({k: torch.as_tensor(np.stack([c[k] for c in cur])) for k in cur[0]})
    xi["noise"] = torch.zeros_like(xi["noise"])
    t = {k: v[idx] for k, v in _sub(b, "g_t_").items()}
    return design_loss(model.interactor(xi), t)


def interactor_loss(model: AdsModel, b: dict, enc: dict) -> torch.Tensor:
    x = _sub(b, "i_x_")
    n = x["size"].shape[0]
    x.update(brief=enc["memory"][b["i_row"], 0].detach(), noise=torch.zeros(n, model.cfg.noise_dim))
    return design_loss(model.interactor(x), _sub(b, "i_t_"))


def image_side_loss(model: AdsModel, b: dict) -> torch.Tensor:
    """Painter (low-res background) + icon matcher (contrastive)."""
    loss = F.cross_entropy(model.icons.logits(b["icon_q"], b["icon_k"]), b["icon_t"])
    if "p_style" in b:
        paint = model.painter(b["p_style"], b["p_cols"])
        loss = loss + 10.0 * F.mse_loss(paint, b["p_target"].float() / 255)
    return loss


def losses(model: AdsModel, b: dict[str, torch.Tensor], gen: torch.Generator,
           on_policy: bool = False) -> dict[str, torch.Tensor]:
    """All losses of one batch, by name (their sum is the training loss)."""
    enc_loss, enc = encoder_loss(model, b)
    layout, x, pred = layout_loss(model, b, enc, gen)
    out = {"encoder": enc_loss, "copy": copy_loss(model, b, enc),
           "reader": reader_loss(model, b), "layout": layout,
           "image": image_side_loss(model, b), "interactor": interactor_loss(model, b, enc)}
    if on_policy and "g_meta" in b:
        out["on_policy"] = on_policy_loss(model, b, x, pred)
    return out
