"""Alpaca: a small text-to-image model with a multi-round self-correction loop.

The public surface (what the worker, the scripts and bench import):

    model = alpaca.load(checkpoint_dir=None, device="cpu", dtype=None)  # None: the shipped default
    model.version, model.name
    for step in model.generate(prompts, seeds, rounds=3, early_exit=True): ...  # kinds.Step
    alpaca.prepare(model, alpaca.EngineOptions(path="naive"))  # how generate runs (engine.py)
    alpaca.train(base, pairs, steps, out_dir, resume=True, on_step=callback)
    alpaca.save(model, out_dir, metrics=None)
    alpaca.tiny_model(seed=0)
    alpaca.checkpoint_version(checkpoint_dir)
    alpaca.DEFAULT_CHECKPOINT

Beyond these, by module: `alpaca.domain` (the creative domain and `alpaca.domain.judge`, no
torch), `alpaca.concepts` (fine-tune glossaries and their evaluation), `alpaca.evaluate`
(held-out prompts and the judge's figures), `alpaca.kind` (the model kind the registry reads).

Importing `alpaca` (or the light `alpaca.kind`, which the API reads) does not load torch: each
function below imports the module that does the work when it is called. Checkpoints are
safetensors + JSON and are never unpickled.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .shipped import DEFAULT_CHECKPOINT

if TYPE_CHECKING:
    from .engine import EngineOptions
    from .nn.model import Alpaca

__all__ = ["DEFAULT_CHECKPOINT", "EngineOptions", "checkpoint_version", "load", "prepare", "save",
           "tiny_model", "train"]


def checkpoint_version(checkpoint_dir: str | os.PathLike) -> str:
    """The version (first 16 hex of the weights' sha256) of a checkpoint folder, from its JSON."""
    from kinds.checkpoint_files import checkpoint_version as read_version

    return read_version(checkpoint_dir)


def load(checkpoint_dir: str | os.PathLike | None = None, device: str = "cpu",
         dtype: Any = None) -> Alpaca:
    """The model of a checkpoint folder (None: the shipped default) on `device`, running the fast
    engine; `dtype` (e.g. "bf16") is the compute precision of inference. See checkpoint.py."""
    from .checkpoint import load as load_checkpoint

    return load_checkpoint(checkpoint_dir, device=device, dtype=dtype)


def save(model: Alpaca, out_dir: str | os.PathLike, metrics: dict | None = None,
         **extra: Any) -> str:
    """Write the model's weights and JSON into out_dir; sets and returns `model.version`."""
    from .checkpoint import save as save_checkpoint

    return save_checkpoint(model, out_dir, metrics=metrics, **extra)


def prepare(model: Alpaca, options: EngineOptions | None = None) -> Alpaca:
    """Set how `model.generate` runs (path, precision, compile, threads); see engine.py."""
    from .engine import prepare as prepare_engine

    return prepare_engine(model, options)


def __getattr__(name: str) -> Any:
    """`alpaca.EngineOptions`, imported when first asked for (it needs torch)."""
    if name == "EngineOptions":
        from .engine import EngineOptions

        return EngineOptions
    raise AttributeError(f"module 'alpaca' has no attribute {name!r}")


def tiny_model(seed: int = 0) -> Alpaca:
    """An untrained, tiny configuration of the real model (for fast backend tests)."""
    from .build import tiny_model as build_tiny

    return build_tiny(seed)


def train(base: Any, pairs: Any, steps: int, out_dir: str | os.PathLike, resume: bool = True,
          on_step: Any = None, **options: Any) -> Alpaca:
    """Fine-tune `base` (a model or a checkpoint directory) on (text, image) pairs, or train on
    the creative domain with pairs=None; see alpaca/training/loop.py."""
    from .training.loop import train as run

    return run(base, pairs, steps, out_dir, resume=resume, on_step=on_step, **options)
