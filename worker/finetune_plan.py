"""What one delivery of a fine-tune works from (`Plan`), how it refuses (`Refused`), and the
model kind it trains (`kind_of`, `kind_tool`): shared by the fine-tune's steps
(worker/finetune.py, finetune_train.py, finetune_eval.py), which import this and not each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinds import DEFAULT_KIND, ModelKind, UnknownKind, get_kind


@dataclass
class Plan:
    """Everything one delivery of a fine-tune needs, read once in `prepare`."""

    job_id: str
    tenant_id: str
    attempt: int
    worker: str
    name: str
    steps: int
    learning_rate: float
    checkpoint_every: int
    seed: int
    glossary: dict[str, str] | None
    base_dir: Path
    base_version: str
    pairs: list[tuple[str, Path]]
    root: Path  # <storage or, on S3, var_dir>/finetunes/<job id> (worker.snapshot_store)
    kind: str = DEFAULT_KIND  # the base model's kind (kinds.ModelKind.name): trains and judges
    previous: dict[str, Any] = field(default_factory=dict)  # progress of an earlier attempt
    result: Any = None  # the models row this job registered already, if any

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"


class Refused(Exception):
    """An expected failure: the job fails with `code` and is not retried."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def kind_of(name: str) -> ModelKind:
    """The model kind a fine-tune runs on; Refused if this worker does not know it."""
    try:
        return get_kind(name)
    except UnknownKind as exc:
        raise Refused("model_unavailable", str(exc)) from exc


def kind_tool(name: str, tool: str) -> Callable[..., Any]:
    """A fine-tune helper the kind registers in its extras (see alpaca/kind.py); Refused
    (unsupported_model) when the kind does not fine-tune."""
    kind = kind_of(name)
    if tool not in kind.extras or kind.train is None:
        raise Refused("unsupported_model", f"models of kind {name!r} cannot be fine-tuned "
                      f"(no {tool})")
    return kind.extras[tool]
