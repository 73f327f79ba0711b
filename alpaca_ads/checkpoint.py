"""Checkpoints of the ads model: `model.safetensors` + `model.json`, never pickles.

The JSON holds the format, name, network config (with its label lists), the tokenizer's
vocabulary, the training data summary, metrics, step and the sha256 of the weights file; the
version is the first 16 hex digits of that sha256. Files are written to temporary names and
moved into place (weights first, JSON last) by the file layer every family shares,
`kinds.checkpoint_files` (which also refuses pickles).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kinds import checkpoint_files as files

FORMAT = "alpaca-ads-checkpoint-1"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"


def read_meta(checkpoint_dir: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint JSON, checked for format and for matching the weights on disk."""
    return files.read_meta(checkpoint_dir, FORMAT)


def save(model: Any, out_dir: str | os.PathLike, metrics: dict | None = None,
         **extra: Any) -> str:
    """Write weights + JSON into out_dir; sets and returns `model.version`."""
    meta = {"name": model.name, "kind": "ads", "config": model.cfg.to_dict(),
            "vocab": model.tokenizer.vocab, "pieces": model.pieces.vocab,
            "data": model.meta.get("data", {}),
            "metrics": metrics if metrics is not None else model.meta.get("metrics", {}),
            "step": model.meta.get("step", 0), **extra}
    version = files.write_weights(model, Path(out_dir), meta, FORMAT)
    model.version, model.meta = version, {**model.meta, **meta}
    return version


def load(checkpoint_dir: str | os.PathLike | None = None, device: str = "cpu") -> Any:
    """The ads model of a checkpoint directory (None: the shipped default), in eval mode."""
    from .model import AdsModel
    from .nn.config import AdsConfig
    from .nn.tokenizer import CharTokenizer, PieceVocab

    path = Path(checkpoint_dir) if checkpoint_dir is not None else DEFAULT_CHECKPOINT
    meta = read_meta(path)
    model = AdsModel(AdsConfig.from_dict(meta["config"]), CharTokenizer(meta["vocab"]),
                     PieceVocab(meta["pieces"]))
    files.load_weights(model, path)
    model.name, model.version, model.meta = meta["name"], meta["weights_sha256"][:16], meta
    return model.to(device).eval()


def new_model(seed: int = 0, tiny: bool = False, vocab_texts: list[str] | None = None,
              copy_texts: list[str] | None = None, **overrides: Any) -> Any:
    """A fresh (untrained) model. The encoder's vocabulary is ASCII plus the characters of the
    catalog and of `vocab_texts` (briefs); the decoder's adds the pieces of `copy_texts`."""
    import torch

    from alpaca_ads.domain import catalog

    from .model import AdsModel
    from .nn.config import domain_config, tiny_config
    from .nn.tokenizer import CharTokenizer, PieceVocab

    texts = [w for p in catalog.PRODUCTS for w in p.en + p.zh]
    texts += [w for group in (catalog.TONES, catalog.COLOURS, catalog.EVENTS)
              for item in group for w in item.en + item.zh]
    cfg = tiny_config() if tiny else domain_config(**overrides)
    torch.manual_seed(seed)
    copies = list(copy_texts or [])
    model = AdsModel(cfg, CharTokenizer.build(texts + list(vocab_texts or []) + copies),
                     PieceVocab.build(texts + copies))
    return model.eval()
