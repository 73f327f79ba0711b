"""`python -m alpaca_ads.train --out out/ads --time-limit-s 1140`: train the ads model."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import torch

from .cli import add_options, read_options
from .data import DataOptions
from .loop import TrainOptions, train


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m alpaca_ads.train",
                                description="Train the ads model (alpaca_ads/train/loop.py).")
    p.add_argument("--out", default="out/ads", help="checkpoint directory")
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the trainer")
    add_options(p, TrainOptions, DataOptions)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    model = train(args.out, read_options(args, TrainOptions), read_options(args, DataOptions),
                  resume=not args.no_resume)
    logging.getLogger(__name__).info("done: %s version %s", args.out, model.version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
