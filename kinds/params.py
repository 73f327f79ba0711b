"""A job's parameters and items, checked once, at submit, against its model kind's own schema.

The checks every kind shares (how many items, how long each, rounds, batch size, seeds) are here;
what an item may be and which options a job may carry are the kind's (`ModelKind.check_item`,
`ModelKind.check_params`). The API calls `check_job` before a job is stored and stores what it
returns (`JobParams.stored`, with the kind's name), so the worker need not check again. A problem
is a `ParamProblem` whose code and message the API returns as a 422, naming the field
(`items[3].size: ...`). Stdlib only, like the rest of the seam.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .contract import FieldProblem, ModelKind

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 3  # interactor rounds when a job does not say (capped by max_rounds)


class ParamProblem(ValueError):
    """A job the model kind cannot take: a stable `code`, a message naming the field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class ParamLimits:
    """What the deployment allows a job (from settings)."""

    max_items: int
    max_prompt_chars: int
    max_rounds: int
    max_batch_size: int  # the worker's batch size, also the largest a job may ask for
    max_seed: int


@dataclass(frozen=True)
class ItemInput:
    """One item as the client sent it, its seed taken out."""

    value: Any  # a prompt string, or the kind-defined object
    seed: int | None  # None: the job's base seed plus the item's index
    field: str  # where it is in the request, e.g. "items[3]", "prompts[0]", "items[2].prompt"
    seed_field: str = ""  # where its seed is, e.g. "items[3].seed"


@dataclass(frozen=True)
class JobRequest:
    """A job's items and parameters as the client sent them."""

    items: Sequence[ItemInput]
    rounds: int | None = None
    batch_size: int | None = None
    seed: int | None = None  # the base seed of items that have none
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedItem:
    text: str  # what is stored as the item's prompt (the kind's canonical form)
    seed: int


@dataclass(frozen=True)
class JobParams:
    """A checked job: what the worker runs it with."""

    kind: str
    rounds: int
    batch_size: int | None
    seed: int | None
    options: dict[str, Any]

    def stored(self, model: str) -> dict[str, Any]:
        """The job's params as stored: the model asked for, its kind, the checked values and,
        beside them, the kind's options (e.g. `early_exit`, which the worker reads there)."""
        return {**self.options, "model": model, "kind": self.kind, "rounds": self.rounds,
                "batch_size": self.batch_size, "seed": self.seed}


def check_job(kind: ModelKind, request: JobRequest, limits: ParamLimits,
              random_seed: Callable[[int], int]) -> tuple[JobParams, list[CheckedItem]]:
    """The checked parameters and items of `request`; raises ParamProblem for the first
    problem. `random_seed(n)` picks a base seed for n items that have no seed of their own."""
    _check_counts(request, limits)
    base_seed = _base_seed(request, limits.max_seed, random_seed)
    items = [_checked_item(kind, item, index, base_seed, limits)
             for index, item in enumerate(request.items)]
    params = JobParams(
        kind=kind.name,
        rounds=request.rounds if request.rounds is not None else min(DEFAULT_ROUNDS,
                                                                     limits.max_rounds),
        batch_size=request.batch_size, seed=base_seed,
        options=_checked_options(kind, request.options))
    return params, items


def check_rounds(rounds: Any, limit: int) -> int:
    """`rounds` if it is a whole number in 0..limit; else ParamProblem rounds_out_of_range."""
    if not _whole(rounds) or not 0 <= rounds <= limit:
        raise ParamProblem("rounds_out_of_range",
                           f"rounds must be between 0 and {limit}, got {rounds!r}")
    return rounds


def check_batch_size(batch_size: Any, limit: int) -> int:
    """`batch_size` if it is a whole number in 1..limit; else ParamProblem."""
    if not _whole(batch_size) or not 1 <= batch_size <= limit:
        raise ParamProblem("batch_size_out_of_range",
                           f"batch_size must be between 1 and {limit}, got {batch_size!r}")
    return batch_size


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_counts(request: JobRequest, limits: ParamLimits) -> None:
    if len(request.items) > limits.max_items:
        raise ParamProblem("too_many_items", f"{len(request.items)} items in one job; "
                           f"the limit is {limits.max_items}")
    if request.rounds is not None:
        check_rounds(request.rounds, limits.max_rounds)
    if request.batch_size is not None:
        check_batch_size(request.batch_size, limits.max_batch_size)


def _base_seed(request: JobRequest, max_seed: int,
               random_seed: Callable[[int], int]) -> int | None:
    """The seed of item 0 among those without one (None when every item has its own)."""
    if all(item.seed is not None for item in request.items):
        return None
    if request.seed is None:
        return random_seed(len(request.items))
    if request.seed + len(request.items) - 1 > max_seed:
        _seed_problem("seed (plus the prompt index)", max_seed, request.seed)
    return request.seed


def _seed_problem(where: str, limit: int, seed: int) -> None:
    raise ParamProblem("seed_out_of_range", f"{where} must be between 0 and {limit}, got {seed}")


def _checked_item(kind: ModelKind, item: ItemInput, index: int, base_seed: int | None,
                  limits: ParamLimits) -> CheckedItem:
    if item.seed is not None and item.seed > limits.max_seed:
        _seed_problem(item.seed_field, limits.max_seed, item.seed)
    try:
        text = kind.check_item(item.value)
    except FieldProblem as exc:
        where = f"{item.field}.{exc.field}" if exc.field else item.field
        raise ParamProblem("invalid_item", f"{where}: {exc.message}") from None
    except (TypeError, ValueError) as exc:  # a kind's check that did not name the field
        log.warning("model kind %s: item check raised %r", kind.name, exc)
        raise ParamProblem("invalid_item", f"{item.field}: this model cannot read it "
                           f"({exc})") from None
    if len(text) > limits.max_prompt_chars:
        raise ParamProblem("prompt_too_long", f"{item.field} is {len(text)} characters long; "
                           f"the limit is {limits.max_prompt_chars}")
    seed = item.seed if item.seed is not None else base_seed + index
    return CheckedItem(text, seed)


RESERVED = ("model", "kind", "rounds", "batch_size", "seed")  # JobParams' own keys when stored


def _checked_options(kind: ModelKind, options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        checked = kind.check_params(options)
    except FieldProblem as exc:
        where = f"options.{exc.field}" if exc.field else "options"
        raise ParamProblem("invalid_option", f"{where}: {exc.message}") from None
    clash = sorted(set(checked) & set(RESERVED))
    if clash:
        raise ParamProblem("invalid_option", f"options.{clash[0]}: is a job parameter, "
                           "not an option; give it beside 'items'")
    return checked
