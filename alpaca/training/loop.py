"""The training loop: `train()` for the default model and for fine-tunes; `main()` is the CLI
that `python -m alpaca.training` runs.

One loop in a fixed order: lr, eval/checkpoint, forward, backward, clip, step,
zero_grad(set_to_none=True), log, stop. It checkpoints atomically into `out_dir` (weights +
JSON, optimizer moments + run state) and, with `resume`, continues from what is there. Batches
are a pure function of (seed, step), so a resumed run sees exactly the data it would have seen.
The losses are in losses.py, the data in data.py, the files in alpaca/checkpoint.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from alpaca.build import new_model
from alpaca.checkpoint import load, save
from alpaca.evaluate import judge_rounds
from alpaca.nn.model import Alpaca
from alpaca.training.data import Batch, domain_batch
from alpaca.training.finetune import PairSource
from alpaca.training.losses import TrainOptions, losses, lr_at, make_optimizer
from kinds.checkpoint_files import TRAIN_STATE, read_optimizer, write_optimizer

log = logging.getLogger(__name__)


def _base_model(base: Any, out_dir: Path, resume: bool, seed: int, overrides: dict) -> Alpaca:
    """The model to train: what `out_dir` holds when resuming, else `base` (model, checkpoint
    directory, or None for a fresh default model)."""

    if resume and (out_dir / TRAIN_STATE).is_file():
        return load(out_dir).train()
    if base is None:
        return new_model(seed, **overrides).train()
    if isinstance(base, Alpaca):
        return base.train()
    return load(base).train()


def _checkpoint(model: Alpaca, opt: torch.optim.Optimizer, out_dir: Path, step: int,
                opts: TrainOptions, metrics: dict, data: dict) -> None:
    model.meta = {**model.meta, "step": step, "data": data}
    save(model, out_dir, metrics=metrics, train_options=asdict(opts))
    write_optimizer(opt, out_dir, {"step": step, "options": asdict(opts), "metrics": metrics,
                                   "elapsed_s": data.get("train_seconds", 0.0)})
    log.info("checkpoint step %d -> %s (version %s)", step, out_dir, model.version)


def _quick_eval(model: Alpaca, opts: TrainOptions) -> dict:
    model.eval()
    try:
        return judge_rounds(model, n=opts.eval_n, seed=12345, rounds=1)
    finally:
        model.train()


def train(base: Any, pairs: Sequence[tuple[str, Any]] | None, steps: int,
          out_dir: str | Path, resume: bool = True,
          on_step: Callable[[dict], Any] | None = None, **options: Any) -> Alpaca:
    """Train `steps` steps (total, counting resumed ones) and return the model.

    base: an `Alpaca`, a checkpoint directory, or None (a fresh default model).
    pairs: (text, image) fine-tune pairs, or None to train on the creative domain alone.
    on_step: called after every step with {"step", "steps", "loss", "losses", "lr", "elapsed_s"}.
    options: TrainOptions fields; any other keyword overrides the fresh model's config.
    """
    names = {f.name for f in fields(TrainOptions)}
    opts = TrainOptions(**{k: v for k, v in options.items() if k in names})
    overrides = {k: v for k, v in options.items() if k not in names}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(opts.seed)
    model = _base_model(base, out_dir, resume, opts.seed, overrides)
    opt = make_optimizer(model, opts)
    state = read_optimizer(opt, out_dir) if resume else None
    start = state["step"] if state else 0
    source = PairSource(model, pairs, opts) if pairs else None
    data = source.summary() if source else {"source": "creative domain (train split)"}
    metrics = dict(state["metrics"]) if state else {}
    elapsed0 = float(state.get("elapsed_s", 0.0)) if state else 0.0
    return _loop(model, opt, source, start, steps, out_dir, opts, on_step, metrics, data, elapsed0)


class _Batches(torch.utils.data.IterableDataset):
    """Batches start..stop-1, each a pure function of its step (so workers and resumes agree)."""

    def __init__(self, source, cfg, opts: TrainOptions, start: int, stop: int):
        super().__init__()
        self.source, self.cfg, self.opts, self.start, self.stop = source, cfg, opts, start, stop

    def batch(self, step: int) -> Batch:
        if self.source is not None:
            return self.source.batch(step)
        extra = max(0, self.opts.layout_batch - self.opts.batch_size)
        return domain_batch(self.opts.seed, step, self.opts.batch_size, self.cfg, extra,
                            self.opts.painter_batch)

    def __iter__(self):
        return (self.batch(step) for step in range(self.start, self.stop))


def _batches(source, model: Alpaca, opts: TrainOptions, start: int, stop: int):
    """An iterator of batches, made in `opts.data_workers` background processes if > 0."""
    data = _Batches(source, model.cfg, opts, start, stop)
    if opts.data_workers <= 0:
        return iter(data)
    loader = torch.utils.data.DataLoader(
        data, batch_size=None, num_workers=1, prefetch_factor=4,
        worker_init_fn=lambda _: torch.set_num_threads(1))
    return iter(loader)


def _progress(step: int, steps: int, elapsed: float, opts: TrainOptions) -> float:
    """How far the run is, in [0, 1]: by steps, or by time when a time limit is set."""
    by_time = elapsed / opts.time_limit_s if opts.time_limit_s else 0.0
    return max(step / max(1, steps), by_time)


def _loop(model: Alpaca, opt: torch.optim.Optimizer, source, start: int, steps: int,
          out_dir: Path, opts: TrainOptions, on_step, metrics: dict, data: dict,
          elapsed0: float = 0.0) -> Alpaca:
    t0, step = time.monotonic() - elapsed0, start
    batches = _batches(source, model, opts, start, steps)
    while True:
        progress = _progress(step, steps, time.monotonic() - t0, opts)
        lr = lr_at(step, progress, opts)  # 1. lr
        for group in opt.param_groups:
            group["lr"] = lr
        last = progress >= 1.0
        if step > start and (last or (opts.eval_every and step % opts.eval_every == 0)):
            if opts.eval_n:  # 2. eval / checkpoint
                metrics = {**_quick_eval(model, opts), "step": step}
                log.info("eval step %d: %s", step, _short(metrics))
            data = {**data, "steps": step, "examples_seen": step * opts.batch_size,
                    "train_seconds": round(time.monotonic() - t0, 1)}
            _checkpoint(model, opt, out_dir, step, opts, metrics, data)
        if last:
            break  # 9. stop
        batch = next(batches)
        gen = torch.Generator().manual_seed(opts.seed * 1_000_003 + step)  # augmentation
        painted = progress >= opts.painted_after
        parts = losses(model, batch, gen, painted, opts.on_policy)  # 3. forward
        loss = sum(parts.values())
        loss.backward()  # 4. backward
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)  # 5. clip
        opt.step()  # 6. step
        opt.zero_grad(set_to_none=True)  # 7. zero_grad
        step += 1
        _log(step, steps, progress, loss, parts, lr, t0, opts, on_step)  # 8. log
    return model.eval()


def _log(step: int, steps: int, progress: float, loss: torch.Tensor, parts: dict, lr: float,
         t0: float, opts: TrainOptions, on_step) -> None:
    info = {"step": step, "steps": steps, "loss": float(loss.detach()), "lr": lr,
            "losses": {k: round(float(v.detach()), 4) for k, v in parts.items()},
            "elapsed_s": time.monotonic() - t0}
    if step % opts.log_every == 0 or step == steps:
        done = min(1.0, progress)
        bar = "#" * int(20 * done) + "." * (20 - int(20 * done))
        log.info("[%s] step %d/%d loss %.4f %s lr %.2e %.0fs", bar, step, steps, info["loss"],
                 info["losses"], lr, info["elapsed_s"])
    if on_step is not None:
        on_step(info)


def _short(metrics: dict) -> str:
    keep = ("overall_round0", "overall_final", "captioner_agreement")
    return " ".join(f"{k}={metrics[k]:.3f}" for k in keep if isinstance(metrics.get(k), float))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alpaca.training",
                                description="Train the default Alpaca model (see alpaca/training/loop.py).")
    p.add_argument("--out", default="out/alpaca-default", help="checkpoint directory")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--base", default=None, help="checkpoint to start from (default: fresh)")
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    cli_defaults = {"data_workers": 1}  # the CLI makes batches in a background process
    for f in fields(TrainOptions):
        default = cli_defaults.get(f.name, f.default)
        p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=default)
    p.add_argument("--d-model", type=int, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = {f.name: getattr(args, f.name) for f in fields(TrainOptions)}
    if args.d_model:
        options["d_model"] = args.d_model
    t0 = time.monotonic()
    model = train(args.base, None, args.steps, args.out, resume=not args.no_resume, **options)
    print(f"trained {model.meta.get('step')} steps into {args.out} "
          f"(version {model.version}) in {time.monotonic() - t0:.0f} s")
    return 0
