"""Checkpoint files of every model family: weights in safetensors, the rest in JSON. Never pickle.

A checkpoint directory holds
- `model.safetensors`: the weights (tied tensors stored once),
- `model.json`: format, name, config, tokenizer vocabulary, training data summary, metrics, step,
  and the sha256 of the weights file (so a half-written checkpoint is detected on load),
- optionally `optimizer.safetensors` + `train_state.json` for resuming a training run.
Each file is written to a temporary name and moved into place with `os.replace`, JSON last.
The model's version is the first 16 hex digits of the sha256 of `model.safetensors`.
This module knows files and tensors, not the networks; each family names its own format string
(`alpaca.checkpoint.FORMAT`, `alpaca_ads.checkpoint.FORMAT`). The worker's checkpoint handling
(fine-tune snapshots, the pickle refusal) uses the same names. Not imported by `kinds/__init__`:
the API imports `kinds` and must not load torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from kinds.errors import MissingCheckpoint, UnsafeCheckpoint

WEIGHTS, META = "model.safetensors", "model.json"
OPTIM, TRAIN_STATE = "optimizer.safetensors", "train_state.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")  # torch.save's zip container; a bare pickle (protocol 2+)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_version(checkpoint_dir: str | os.PathLike) -> str:
    """The model version of a checkpoint: first 16 hex of the sha256 of its weights file."""
    path = Path(checkpoint_dir) / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"no {WEIGHTS} in {checkpoint_dir}")
    return file_sha256(path)[:16]


def _atomic(path: Path, write) -> None:
    """Call write(tmp_path), then move the result onto `path` in one step."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: dict) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)

    _atomic(path, write)


def write_weights(module: nn.Module, out_dir: Path, meta: dict, fmt: str) -> str:
    """Save `module`'s weights and `meta` (JSON, stamped with format `fmt`) into out_dir;
    returns the new version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic(out_dir / WEIGHTS, lambda tmp: save_model(module, tmp))
    sha = file_sha256(out_dir / WEIGHTS)
    write_json(out_dir / META, {"format": fmt, **meta, "weights_sha256": sha})
    return sha[:16]


def refuse_pickle(checkpoint_dir: Path) -> None:
    """UnsafeCheckpoint if the directory offers only pickled weights (which this project never
    loads); MissingCheckpoint if it offers no weights at all."""
    if checkpoint_dir.is_file() or not (checkpoint_dir / WEIGHTS).is_file():
        found = [p.name for p in (checkpoint_dir.glob("*") if checkpoint_dir.is_dir() else [])
                 if p.suffix in PICKLE_SUFFIXES]
        if checkpoint_dir.suffix in PICKLE_SUFFIXES or found:
            raise UnsafeCheckpoint(f"refusing to load pickled weights from {checkpoint_dir}: "
                                   f"only {WEIGHTS} + {META} checkpoints are loaded")
        raise MissingCheckpoint(f"no {WEIGHTS} in {checkpoint_dir}")
    if _pickled(checkpoint_dir / WEIGHTS):
        raise UnsafeCheckpoint(f"refusing to load pickled weights from {checkpoint_dir}: {WEIGHTS} "
                               "holds a pickle, not safetensors")


def _pickled(path: Path) -> bool:
    """True for a file that is not safetensors (8-byte little-endian header size, then '{')
    but starts like a pickle or torch.save's zip; a real safetensors file may start with 0x80."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    size = int.from_bytes(head[:8], "little")
    safetensors = len(head) == 9 and head[8:9] == b"{" and size <= path.stat().st_size - 8
    return not safetensors and head.startswith(PICKLE_MAGIC)


def read_meta(checkpoint_dir: str | os.PathLike, fmt: str) -> dict:
    """The checkpoint JSON, checked for format `fmt` and for matching the weights on disk."""
    path = Path(checkpoint_dir)
    refuse_pickle(path)
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    if meta.get("format") != fmt:
        raise ValueError(f"{path / META} is not an {fmt} file")
    if meta.get("weights_sha256") != file_sha256(path / WEIGHTS):
        raise ValueError(f"{path}: weights do not match {META} (incomplete checkpoint?)")
    return meta


def load_weights(module: nn.Module, checkpoint_dir: str | os.PathLike) -> None:
    try:
        missing, unexpected = load_model(module, Path(checkpoint_dir) / WEIGHTS, strict=False)
    except SafetensorError as exc:  # corrupt: a checkpoint error like the others, not a crash
        raise ValueError(f"{checkpoint_dir}: {WEIGHTS} is not a valid safetensors file: "
                         f"{exc}") from exc
    if missing or unexpected:
        raise ValueError(f"checkpoint does not fit the model: missing {missing}, "
                         f"unexpected {unexpected}")


def write_optimizer(opt: torch.optim.Optimizer, out_dir: Path, state: dict) -> None:
    """Optimizer moments as safetensors (keyed by param index) and the run state as JSON."""
    tensors, steps = {}, {}
    for i, p_state in opt.state_dict()["state"].items():
        for key, value in p_state.items():
            if torch.is_tensor(value) and value.ndim > 0:
                tensors[f"{i}.{key}"] = value.contiguous()
            else:
                steps[f"{i}.{key}"] = float(value)
    _atomic(out_dir / OPTIM, lambda tmp: save_file(tensors, tmp))
    write_json(out_dir / TRAIN_STATE, {**state, "optimizer_scalars": steps,
                                       "optimizer_sha256": file_sha256(out_dir / OPTIM)})


def read_optimizer(opt: torch.optim.Optimizer, out_dir: Path) -> dict | None:
    """Restore optimizer moments; returns the saved run state, or None if there is none."""
    if not (out_dir / TRAIN_STATE).is_file() or not (out_dir / OPTIM).is_file():
        return None
    state = json.loads((out_dir / TRAIN_STATE).read_text(encoding="utf-8"))
    if state.get("optimizer_sha256") != file_sha256(out_dir / OPTIM):
        return None
    tensors = load_file(out_dir / OPTIM)
    sd = opt.state_dict()
    new_state: dict[int, dict] = {}
    for name, value in [*tensors.items(), *state["optimizer_scalars"].items()]:
        i, key = name.split(".", 1)
        value = torch.tensor(value) if not torch.is_tensor(value) else value
        new_state.setdefault(int(i), {})[key] = value
    sd["state"] = new_state
    opt.load_state_dict(sd)
    return state
