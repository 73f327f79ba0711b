"""The model seam: what the worker may assume of a model, and what a model family registers.

The worker, the model cache, the cross-job batcher, the stub model and the fine-tune path know
models only through these types; the API knows only `ModelKind` (no torch is imported here or by
a kind's spec module). A model family (alpaca/ draws shapes, alpaca_ads/ draws ad banners) is
added by writing a package and registering its `ModelKind` (kinds/registry.py), with no change
to worker/ or api/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ItemRefusal:
    """Why the model could not make an item from its input (the item fails with this code)."""

    code: str  # e.g. "brief_not_understood", "invalid_input"
    message: str  # names the words or fields it could not place


@dataclass(frozen=True)
class Step:
    """One round of a batch, as `ServableModel.generate` yields it."""

    round: int  # 0 = the first draft, 1.. = interactor rounds
    images: Sequence[Any]  # per item a uint8 (H, W, 3) array; sizes may differ between items
    control_texts: list[str]  # what the text decoder reads in each image
    agreement: list[float]  # control text vs the item's input, in [0, 1]
    done: list[bool]  # exited early: stays fixed from here on
    # Per item, what the result carries beyond its PNG and control text (copy, design, verdict);
    # None: nothing more.
    payloads: list[dict[str, Any]] | None = None
    # Per item, a refusal (the item fails with it, its image is ignored) or None.
    refusals: list[ItemRefusal | None] | None = None


@runtime_checkable
class ServableModel(Protocol):
    """A model the worker can serve: a loaded checkpoint of one kind."""

    kind: str  # the ModelKind's name
    name: str
    version: str  # first 16 hex of the weights' sha256 (the catalog's key)

    def generate(self, prompts: Sequence[str], seeds: Sequence[int], rounds: int = 3,
                 early_exit: bool = True) -> Iterator[Step]:
        """Yield round 0 .. `rounds` (fewer when every item is done early). Raises ValueError
        for a batch it cannot take at all; the worker then runs its items one by one."""
        ...


def check_generate_args(prompts: Sequence[Any], seeds: Sequence[int], rounds: int) -> None:
    """The ValueError `ServableModel.generate` raises for a batch no family can run: one seed per
    item, rounds >= 0, every item a string (a prompt, or a kind's canonical JSON)."""
    if len(prompts) != len(seeds):
        raise ValueError(f"{len(prompts)} items but {len(seeds)} seeds")
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if not all(isinstance(p, str) for p in prompts):
        raise ValueError("items must be strings (a prompt, or a kind's JSON item)")


@dataclass(frozen=True)
class LoadOptions:
    """How a worker process wants its models set up; a kind applies what it supports."""

    device: str = "cpu"
    path: str = "fast"  # inference path: "fast" (batched, cached) or "naive" (reference)
    channels_last: bool = False
    compile: bool = False
    dtype: str | None = None  # autocast precision ("bf16", "fp16"); None: float32
    quantize: bool = False
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default


class FieldProblem(ValueError):
    """A value a kind cannot accept: `field` names the part of it (None: the whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ItemProblem(FieldProblem):
    """A job item a kind cannot accept: `field` names the part of the item (None: the whole)."""


Loader = Callable[[str | None, LoadOptions], ServableModel]  # (checkpoint dir or None, options)
Trainer = Callable[..., Any]
ItemChecker = Callable[[Any], str]  # an item as the client sent it -> the prompt text stored
OptionsChecker = Callable[[Mapping[str, Any]], dict[str, Any]]  # a job's options -> as stored


def check_plain_prompt(item: Any) -> str:
    """The default item check: a prompt is a string (emptiness and length are checked by the
    API for every kind)."""
    if not isinstance(item, str):
        raise ItemProblem(f"must be a string for this model, got {type(item).__name__}")
    return item.strip()


COMMON_OPTIONS = {"early_exit": bool}  # what every kind's generate takes besides rounds


def check_common_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The default options check: only the options every kind takes (COMMON_OPTIONS), each of
    its type. Raises FieldProblem naming the option."""
    for name, value in options.items():
        wanted = COMMON_OPTIONS.get(name)
        if wanted is None:
            raise FieldProblem(f"is not an option of this model; it takes "
                               f"{', '.join(sorted(COMMON_OPTIONS))}", name)
        if not isinstance(value, wanted):
            raise FieldProblem(f"must be a {wanted.__name__}, got {type(value).__name__}", name)
    return dict(options)


@dataclass(frozen=True)
class ModelKind:
    """What a model family registers: its name, its default model, how to load and check."""

    name: str  # e.g. "shapes", "ads"; recorded in the catalog's models table
    default_model: str  # the catalog name of the shipped default, e.g. "default", "ads"
    load: Loader  # must import its heavy modules (torch) only when called
    tiny: Callable[[], ServableModel] | None = None  # an untrained tiny model (backend tests)
    default_checkpoint: Callable[[], str] | None = None  # path of the shipped checkpoint
    check_item: ItemChecker = check_plain_prompt  # raises ItemProblem
    check_params: OptionsChecker = check_common_options  # a job's options; raises FieldProblem
    train: Trainer | None = None  # fine-tunes, where the family supports them
    description: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)  # family-specific, e.g. evaluate
