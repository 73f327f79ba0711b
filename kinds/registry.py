"""Which model kinds this process knows: registered by packages, found by name.

A family registers its `ModelKind` under the entry-point group `alpaca_jobs.model_kinds`
(pyproject.toml: `shapes = "alpaca.kind:KIND"`); settings may add more (`MODEL_KINDS`, a comma-
separated list of `module:attribute`, e.g. for a family under test). Spec modules are imported
the first time a kind is asked for; they must not import torch (the API imports them).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from importlib.metadata import entry_points

from .contract import ModelKind

log = logging.getLogger(__name__)

GROUP = "alpaca_jobs.model_kinds"
EXTRA_ENV = "MODEL_KINDS"  # comma-separated module:attribute, read once per process
DEFAULT_KIND = "shapes"


class UnknownKind(LookupError):
    """No registered model kind has this name."""


def load_spec(target: str) -> ModelKind:
    """The ModelKind at `module:attribute`."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"model kind {target!r} must be written module:attribute")
    kind = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(kind, ModelKind):
        raise ValueError(f"{target} is a {type(kind).__name__}, not a ModelKind")
    return kind


@functools.cache
def kinds() -> dict[str, ModelKind]:
    """Every registered kind by name (entry points, then MODEL_KINDS)."""
    targets = [ep.value for ep in entry_points(group=GROUP)]
    targets += [t.strip() for t in os.environ.get(EXTRA_ENV, "").split(",") if t.strip()]
    found: dict[str, ModelKind] = {}
    for target in targets:
        kind = load_spec(target)
        found[kind.name] = kind
    log.debug("model kinds: %s", sorted(found))
    return found


def get_kind(name: str | None) -> ModelKind:
    """The kind called `name` (None: the default kind); UnknownKind if none is registered."""
    name = name or DEFAULT_KIND
    try:
        return kinds()[name]
    except KeyError:
        raise UnknownKind(f"no model kind {name!r}; registered: {sorted(kinds())}") from None


def kind_of_default_model(model_name: str) -> ModelKind | None:
    """The kind whose shipped default model is called `model_name`, if any."""
    return next((k for k in kinds().values() if k.default_model == model_name), None)
