"""The shapes model's checkpoints: `load` and `save`, in the format named here, over the file
layer every family shares (`kinds.checkpoint_files`: safetensors weights, JSON beside them
(config, vocabulary, data summary, metrics, weights sha256), never a pickle). A loaded model runs
the fast engine (alpaca/engine.py) until `engine.prepare` sets another."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alpaca.engine import Engine
from alpaca.nn.config import AlpacaConfig
from alpaca.nn.model import Alpaca
from alpaca.nn.tokenizer import Tokenizer
from alpaca.shipped import DEFAULT_CHECKPOINT
from kinds import checkpoint_files as files
DTYPE_NAMES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
               "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}

FORMAT = "alpaca-checkpoint-1"


def write_weights(module: nn.Module, out_dir: Path, meta: dict) -> str:
    """Save the shapes model's weights and JSON into out_dir; returns the new version."""
    return files.write_weights(module, out_dir, meta, FORMAT)


def read_meta(checkpoint_dir: str | os.PathLike) -> dict:
    """The shapes checkpoint's JSON, checked for format and against the weights on disk."""
    return files.read_meta(checkpoint_dir, FORMAT)


def resolve_dtype(dtype: Any) -> torch.dtype | None:
    """A torch dtype from a dtype or its name (None stays None); ValueError for other names."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if str(dtype) not in DTYPE_NAMES:
        raise ValueError(f"unknown dtype {dtype!r}")
    return DTYPE_NAMES[str(dtype)]


def load(checkpoint_dir: str | os.PathLike | None = None, device: str = "cpu",
         dtype: Any = None) -> Alpaca:
    """Build the model from a checkpoint directory (None: the shipped default).

    `dtype` (e.g. torch.bfloat16) sets the compute precision of inference through autocast;
    weights stay float32.
    """
    path = Path(checkpoint_dir) if checkpoint_dir is not None else DEFAULT_CHECKPOINT
    meta = read_meta(path)
    model = Alpaca(AlpacaConfig.from_dict(meta["config"]), Tokenizer(meta["vocab"]))
    files.load_weights(model, path)
    model.name, model.version, model.meta = meta["name"], meta["weights_sha256"][:16], meta
    model.compute_dtype = resolve_dtype(dtype)
    model.engine = Engine()
    return model.to(device).eval()


def save(model: Alpaca, out_dir: str | os.PathLike, metrics: dict | None = None,
         **extra: Any) -> str:
    """Write the model's weights and JSON into out_dir; sets and returns `model.version`."""
    meta = {
        "name": model.name, "config": model.cfg.to_dict(), "vocab": model.tokenizer.vocab,
        "data": model.meta.get("data", {}), "metrics": metrics or model.meta.get("metrics", {}),
        "step": model.meta.get("step", 0), **extra,
    }
    model.version = write_weights(model, Path(out_dir), meta)
    model.meta = {**model.meta, **meta}
    return model.version
