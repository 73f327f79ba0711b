"""Alpaca Ads: a brief in free wording becomes a finished banner at a real ad size plus its copy.

Layers (no module imports one above it):
    domain/  the ads vocabulary, the brief designer, designs, rendering (no torch)
    judge/   the independent OCR judge: reads pixels only
    nn/      the networks (text encoder, copy/control decoder, layout, painter, reader, interactor)
    train/   data batches and the training loop
    and at the top: the model, the multi-round loop, checkpoints, evaluation.

The public surface the worker uses (importing this package does not load torch):

    model = alpaca_ads.load(checkpoint_dir=None, device="cpu")
    model.name, model.version, model.kind == "ads"
    for step in model.generate(items, seeds, rounds=3, early_exit=True): ...
    alpaca_ads.save(model, out_dir)
    alpaca_ads.tiny_model(seed=0)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"

__all__ = ["DEFAULT_CHECKPOINT", "load", "save", "tiny_model"]


def load(checkpoint_dir: str | os.PathLike | None = None, device: str = "cpu") -> Any:
    """The ads model of a checkpoint (safetensors + JSON; None: the shipped default)."""
    from .checkpoint import load as load_checkpoint

    return load_checkpoint(checkpoint_dir, device=device)


def save(model: Any, out_dir: str | os.PathLike, metrics: dict | None = None,
         **extra: Any) -> str:
    """Write the model's weights and JSON into out_dir; returns the new version."""
    from .checkpoint import save as save_checkpoint

    return save_checkpoint(model, out_dir, metrics=metrics, **extra)


def tiny_model(seed: int = 0) -> Any:
    """An untrained, tiny configuration of the real model (for fast backend tests)."""
    from .checkpoint import new_model

    return new_model(seed, tiny=True)
