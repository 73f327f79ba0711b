"""Alpaca: a small text-to-image model with a multi-round self-correction loop.

The public surface the worker uses:

    model = alpaca.load(checkpoint_dir=None, device="cpu", dtype=None)
    model.version, model.name
    for step in model.generate(prompts, seeds, rounds=3, early_exit=True): ...
    alpaca.train(base, pairs, steps, out_dir, resume=True, on_step=callback)
    alpaca.save(model, out_dir, metrics=None)
    alpaca.tiny_model(seed=0)
    alpaca.checkpoint_version(checkpoint_dir)

Checkpoints are safetensors + JSON and are never unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from .model import Alpaca

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"

__all__ = ["DEFAULT_CHECKPOINT", "checkpoint_version", "load", "save", "tiny_model", "train"]


def _resolve_dtype(dtype: Any) -> torch.dtype | None:
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if str(dtype) not in names:
        raise ValueError(f"unknown dtype {dtype!r}")
    return names[str(dtype)]


def checkpoint_version(checkpoint_dir: str | os.PathLike) -> str:
    """The version (first 16 hex of the weights' sha256) of a checkpoint folder, from its JSON.

    Imported lazily, like every heavy part of the package: importing `alpaca` (or the light
    `alpaca.kind`, which the API reads) must not load torch."""
    from kinds.checkpoint_files import checkpoint_version as read_version

    return read_version(checkpoint_dir)


def load(checkpoint_dir: str | os.PathLike | None = None, device: str = "cpu",
         dtype: Any = None) -> Alpaca:
    """Build the model from a checkpoint directory (safetensors + JSON; never unpickles).

    `dtype` (e.g. torch.bfloat16) sets the compute precision of inference through autocast;
    weights stay float32.
    """
    from kinds.checkpoint_files import load_weights

    from .checkpoint import read_meta
    from .config import AlpacaConfig
    from .engine import Engine
    from .model import Alpaca
    from .tokenizer import Tokenizer

    path = Path(checkpoint_dir) if checkpoint_dir is not None else DEFAULT_CHECKPOINT
    meta = read_meta(path)
    model = Alpaca(AlpacaConfig.from_dict(meta["config"]), Tokenizer(meta["vocab"]))
    load_weights(model, path)
    model.name, model.version, model.meta = meta["name"], meta["weights_sha256"][:16], meta
    model.compute_dtype = _resolve_dtype(dtype)
    model.engine = Engine()
    return model.to(device).eval()


def save(model: Alpaca, out_dir: str | os.PathLike, metrics: dict | None = None,
         **extra: Any) -> str:
    """Write the model's weights and JSON into out_dir; sets and returns `model.version`."""
    from .checkpoint import write_weights

    meta = {
        "name": model.name, "config": model.cfg.to_dict(), "vocab": model.tokenizer.vocab,
        "data": model.meta.get("data", {}), "metrics": metrics or model.meta.get("metrics", {}),
        "step": model.meta.get("step", 0), **extra,
    }
    model.version = write_weights(model, Path(out_dir), meta)
    model.meta = {**model.meta, **meta}
    return model.version


def tiny_model(seed: int = 0) -> Alpaca:
    """An untrained, tiny configuration of the real model (for fast backend tests)."""
    from .build import tiny_model as build_tiny

    return build_tiny(seed)


def train(base: Any, pairs: Any, steps: int, out_dir: str | os.PathLike, resume: bool = True,
          on_step: Any = None, **options: Any) -> Alpaca:
    """Fine-tune `base` (a model or a checkpoint directory) on (text, image) pairs, or train on
    the creative domain with pairs=None; see alpaca/training.py."""
    from .training import train as run

    return run(base, pairs, steps, out_dir, resume=resume, on_step=on_step, **options)
