"""Command-line flags from the training options' dataclasses, shared by `python -m
alpaca_ads.train` and `python -m alpaca_ads.train.refit`: each field is a --flag-with-dashes of
its default's type, and read back into the dataclass."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def add_options(parser: argparse.ArgumentParser, *classes: type) -> None:
    """A flag per field of each options dataclass, defaulting to the field's default."""
    for cls in classes:
        for f in fields(cls):
            parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default),
                                default=f.default)


def read_options(args: argparse.Namespace, cls: type[T]) -> T:
    """The options dataclass `cls` from the parsed flags."""
    values: dict[str, Any] = {f.name: getattr(args, f.name) for f in fields(cls)}
    return cls(**values)
