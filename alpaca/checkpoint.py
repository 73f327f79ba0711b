"""The shapes model's checkpoint format, over the file layer every family shares
(`kinds.checkpoint_files`: safetensors weights, JSON beside them, never a pickle)."""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from kinds import checkpoint_files as files

FORMAT = "alpaca-checkpoint-1"


def write_weights(module: nn.Module, out_dir: Path, meta: dict) -> str:
    """Save the shapes model's weights and JSON into out_dir; returns the new version."""
    return files.write_weights(module, out_dir, meta, FORMAT)


def read_meta(checkpoint_dir: str | os.PathLike) -> dict:
    """The shapes checkpoint's JSON, checked for format and against the weights on disk."""
    return files.read_meta(checkpoint_dir, FORMAT)
