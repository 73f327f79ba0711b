"""The training loop of the ads model: `train()` and the CLI `python -m alpaca_ads.train`.

One loop in a fixed order: lr, eval/checkpoint, forward, backward, clip, step,
zero_grad(set_to_none=True), log, stop. A cosine schedule runs over whichever ends first, the
steps or the time limit; checkpoints (weights + JSON, optimizer + run state) are written
atomically every `checkpoint_every` steps and at the end, and a run resumes from them.
Batches are made in a background process (one torch thread each, as in alpaca/training.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinds.checkpoint_files import read_optimizer, write_optimizer

from ..checkpoint import load, new_model, save
from ..model import AdsModel
from ..nn.tokenizer import PAD
from .data import BatchMaker, DataOptions
from .losses import losses

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    steps: int = 100000  # upper bound on steps; the time limit usually ends the run first
    time_limit_s: float = 0.0  # end the schedule and the run after this many seconds (0: none)
    lr: float = 2e-3  # peak AdamW learning rate
    min_lr_frac: float = 0.05  # the cosine ends at lr * min_lr_frac
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    clip: float = 1.0  # gradient-norm clip
    seed: int = 0  # data and initialisation seed
    checkpoint_every: int = 300  # steps between checkpoints
    log_every: int = 25  # steps between progress lines
    data_workers: int = 1  # background processes making batches (0: in this process)
    on_policy_after: float = 0.3  # share of the run after which G's drafts train the interactor


def lr_at(step: int, progress: float, o: TrainOptions) -> float:
    """Warm-up, then cosine from lr to lr * min_lr_frac over progress in [0, 1]."""
    if step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return o.lr * (o.min_lr_frac + (1 - o.min_lr_frac) * cos)


class _Batches(torch.utils.data.IterableDataset):
    def __init__(self, maker: BatchMaker, start: int, stop: int):
        super().__init__()
        self.maker, self.start, self.stop = maker, start, stop

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        return (self.maker.batch(s) for s in range(self.start, self.stop))


def _batches(maker: BatchMaker, start: int, stop: int, workers: int) -> Iterator[dict]:
    data = _Batches(maker, start, stop)
    if workers <= 0:
        return iter(data)
    return iter(torch.utils.data.DataLoader(
        data, batch_size=None, num_workers=1, prefetch_factor=4,
        worker_init_fn=lambda _: torch.set_num_threads(1)))


def vocab_texts(seed: int, n: int = 3000) -> tuple[list[str], list[str]]:
    """Briefs and copy of n sampled training examples (what the vocabularies are built from)."""
    from .data import domain

    fn, rng, briefs, copies = domain(), np.random.default_rng([seed, 999_999]), [], []
    for _ in range(n):
        spec, text = fn["sample_brief"](rng, "train")
        copy = fn["good_copy"](spec, rng)
        briefs.append(text)
        copies += [copy.headline, copy.subline, copy.cta]
    return briefs, copies


def _model(out_dir: Path, resume: bool, o: TrainOptions, overrides: dict) -> AdsModel:
    """The checkpoint in out_dir when resuming, else a fresh model (overrides: config fields,
    `tiny=True`, `vocab_n` = briefs sampled for the vocabulary)."""
    if resume and (out_dir / "train_state.json").is_file():
        return load(out_dir).train()
    n = int(overrides.pop("vocab_n", 3000))
    briefs, copies = vocab_texts(o.seed, n)
    return new_model(o.seed, vocab_texts=briefs, copy_texts=copies, **overrides).train()


def train(out_dir: str | Path, options: TrainOptions | None = None,
          data: DataOptions | None = None, resume: bool = True,
          on_step: Callable[[dict], Any] | None = None, **overrides: Any) -> AdsModel:
    """Train (or resume) the ads model into `out_dir` and return it (eval mode)."""
    o, d, out_dir = options or TrainOptions(), data or DataOptions(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(o.seed)
    model = _model(out_dir, resume, o, overrides)
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    state = read_optimizer(opt, out_dir) if resume else None
    start = int(state["step"]) if state else 0
    elapsed0 = float(state.get("elapsed_s", 0.0)) if state else 0.0
    maker = BatchMaker(model.tokenizer, model.pieces, model.cfg, d, o.seed)
    return _loop(model, opt, maker, start, out_dir, o, d, on_step, elapsed0)


def _checkpoint(model: AdsModel, opt: torch.optim.Optimizer, out_dir: Path, step: int,
                o: TrainOptions, d: DataOptions, elapsed: float) -> None:
    model.meta = {**model.meta, "step": step, "data": {
        "source": "alpaca_ads.domain (train split)", "steps": step,
        "train_seconds": round(elapsed, 1), "options": asdict(o), "data_options": asdict(d)}}
    save(model, out_dir)
    write_optimizer(opt, out_dir, {"step": step, "elapsed_s": elapsed})
    log.info("checkpoint step %d -> %s (version %s)", step, out_dir, model.version)


def to_torch(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Tensors of a batch, the briefs and copy cut to their longest row (less padding)."""
    out = {k: v if k.endswith("meta") else torch.as_tensor(v) for k, v in batch.items()}
    n = int((out["brief"] != PAD).sum(1).max())
    for k in ("brief", "tags", "place", "cs_mask"):
        out[k] = out[k][:, :n]
    if "copy" in out:  # a brief batch alone (train/refit.py) has none
        m = int((out["copy"] != PAD).sum(1).max())
        out["copy"] = out["copy"][:, :m]
    return out


def _loop(model: AdsModel, opt: torch.optim.Optimizer, maker: BatchMaker, start: int,
          out_dir: Path, o: TrainOptions, d: DataOptions, on_step, elapsed0: float) -> AdsModel:
    t0, step = time.monotonic() - elapsed0, start
    batches = _batches(maker, start, o.steps, o.data_workers)
    while True:
        elapsed = time.monotonic() - t0
        progress = max(step / o.steps, elapsed / o.time_limit_s if o.time_limit_s else 0.0)
        lr = lr_at(step, progress, o)  # 1. lr
        for group in opt.param_groups:
            group["lr"] = lr
        last = progress >= 1.0
        if step > start and (last or step % o.checkpoint_every == 0):
            _checkpoint(model, opt, out_dir, step, o, d, elapsed)  # 2. eval / checkpoint
        if last:
            break  # 9. stop
        gen = torch.Generator().manual_seed(o.seed * 1_000_003 + step)
        on_policy = progress >= o.on_policy_after
        parts = losses(model, to_torch(next(batches)), gen, on_policy)  # 3. forward
        loss = sum(parts.values())
        loss.backward()  # 4. backward
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.clip)  # 5. clip
        opt.step()  # 6. step
        opt.zero_grad(set_to_none=True)  # 7. zero_grad
        step += 1
        _log(step, progress, loss, parts, lr, t0, o, on_step)  # 8. log
    return model.eval()


def _log(step: int, progress: float, loss: torch.Tensor, parts: dict, lr: float, t0: float,
         o: TrainOptions, on_step) -> None:
    info = {"step": step, "loss": float(loss.detach()), "lr": lr, "progress": progress,
            "losses": {k: round(float(v.detach()), 4) for k, v in parts.items()},
            "elapsed_s": round(time.monotonic() - t0, 1)}
    if step % o.log_every == 0:
        log.info("step %d (%.0f%%) loss %.4f %s lr %.2e %.0fs", step, 100 * progress,
                 info["loss"], info["losses"], lr, info["elapsed_s"])
    if on_step is not None:
        on_step(info)
