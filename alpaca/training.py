"""The training loop: `python -m alpaca.train` for the default model, `train()` for fine-tunes.

One loop in a fixed order: lr, eval/checkpoint, forward, backward, clip, step,
zero_grad(set_to_none=True), log, stop. It checkpoints atomically into `out_dir` (weights +
JSON, optimizer moments + run state) and, with `resume`, continues from what is there. Batches
are a pure function of (seed, step), so a resumed run sees exactly the data it would have seen.
The losses are in losses.py, the data in data.py, the files in checkpoint.py.
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

from . import save
from .checkpoint import TRAIN_STATE, read_optimizer, write_optimizer
from .data import Batch, domain_batch
from .finetune import PairSource
from .losses import TrainOptions, losses, lr_at, make_optimizer
from .model import Alpaca

log = logging.getLogger(__name__)


def _base_model(base: Any, out_dir: Path, resume: bool, seed: int, overrides: dict) -> Alpaca:
    """The model to train: what `out_dir` holds when resuming, else `base` (model, checkpoint
    directory, or None for a fresh default model)."""
    from . import load
    from .build import new_model

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
    write_optimizer(opt, out_dir, {"step": step, "options": asdict(opts), "metrics": metrics})
    log.info("checkpoint step %d -> %s (version %s)", step, out_dir, model.version)


def _quick_eval(model: Alpaca, opts: TrainOptions) -> dict:
    from .evaluate import judge_rounds

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
    data = source.summary() if source else {"source": "creative domain (train split)",
                                             "examples_seen": steps * opts.batch_size}
    metrics = dict(state["metrics"]) if state else {}
    return _loop(model, opt, source, start, steps, out_dir, opts, on_step, metrics, data)


def _batch(source, step: int, opts: TrainOptions, model: Alpaca) -> Batch:
    if source is not None:
        return source.batch(step)
    return domain_batch(opts.seed, step, opts.batch_size, model.cfg)


def _loop(model: Alpaca, opt: torch.optim.Optimizer, source, start: int, steps: int,
          out_dir: Path, opts: TrainOptions, on_step, metrics: dict, data: dict) -> Alpaca:
    t0, step = time.monotonic(), start
    while True:
        lr = lr_at(step, steps, opts)  # 1. lr
        for group in opt.param_groups:
            group["lr"] = lr
        last = step >= steps or (opts.time_limit_s and time.monotonic() - t0 > opts.time_limit_s)
        if step > start and (last or (opts.eval_every and step % opts.eval_every == 0)):
            if opts.eval_n:  # 2. eval / checkpoint
                metrics = {**_quick_eval(model, opts), "step": step}
                log.info("eval step %d: %s", step, _short(metrics))
            _checkpoint(model, opt, out_dir, step, opts, metrics, data)
        if last:
            break  # 9. stop
        batch = _batch(source, step, opts, model)
        gen = torch.Generator().manual_seed(opts.seed * 1_000_003 + step)  # augmentation
        parts = losses(model, batch, gen, painted=step >= opts.painted_after * steps)  # 3.
        loss = sum(parts.values())
        loss.backward()  # 4. backward
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)  # 5. clip
        opt.step()  # 6. step
        opt.zero_grad(set_to_none=True)  # 7. zero_grad
        step += 1
        _log(step, steps, loss, parts, lr, t0, opts, on_step)  # 8. log
    return model.eval()


def _log(step: int, steps: int, loss: torch.Tensor, parts: dict, lr: float, t0: float,
         opts: TrainOptions, on_step) -> None:
    info = {"step": step, "steps": steps, "loss": float(loss.detach()), "lr": lr,
            "losses": {k: round(float(v.detach()), 4) for k, v in parts.items()},
            "elapsed_s": time.monotonic() - t0}
    if step % opts.log_every == 0 or step == steps:
        done = step / max(1, steps)
        bar = "#" * int(20 * done) + "." * (20 - int(20 * done))
        log.info("[%s] step %d/%d loss %.4f %s lr %.2e %.0fs", bar, step, steps, info["loss"],
                 info["losses"], lr, info["elapsed_s"])
    if on_step is not None:
        on_step(info)


def _short(metrics: dict) -> str:
    keep = ("overall_round0", "overall_final", "captioner_agreement")
    return " ".join(f"{k}={metrics[k]:.3f}" for k in keep if isinstance(metrics.get(k), float))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alpaca.train", description=__doc__)
    p.add_argument("--out", default="out/alpaca-default", help="checkpoint directory")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--base", default=None, help="checkpoint to start from (default: fresh)")
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    for f in fields(TrainOptions):
        p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    p.add_argument("--d-model", type=int, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = {f.name: getattr(args, f.name) for f in fields(TrainOptions)}
    if args.d_model:
        options["d_model"] = args.d_model
    t0 = time.monotonic()
    train(args.base, None, args.steps, args.out, resume=not args.no_resume, **options)
    print(f"trained {args.steps} steps into {args.out} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
