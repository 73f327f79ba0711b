"""Put every model kind's shipped default in the catalog: `python -m scripts.register_models`.

Each kind that ships a checkpoint (`ModelKind.default_checkpoint`: the shapes "default", the
ads "ads") gets a global row in the `models` table under its default model's name, with its
kind and the version read from the checkpoint's JSON (the first 16 hex of the weights' sha256),
so a job can name it from the first request and the API pins the version at submit. Idempotent
(a registered version is left as it is). Run after the migrations (`make migrate`, `make up`,
the compose `migrate` service). Only for the real backend (`MODEL_BACKEND=alpaca`): the tiny and
stub backends serve other versions, which the worker registers itself on first use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from config import get_settings
from kinds import ModelKind, kinds
from store.catalog import register_model
from store.db import session_scope

log = logging.getLogger(__name__)

META = "model.json"  # the checkpoint's JSON, beside its safetensors (kinds/checkpoint_files.py)


@dataclass(frozen=True)
class ShippedModel:
    name: str
    kind: str
    checkpoint_path: str
    sha256: str  # of the weights file, as the checkpoint's JSON records it

    @property
    def version(self) -> str:
        return self.sha256[:16]


def shipped_model(kind: ModelKind) -> ShippedModel | None:
    """The kind's shipped default as the catalog records it; None when it ships none."""
    if kind.default_checkpoint is None:
        return None
    path = kind.default_checkpoint()
    meta = json.loads((Path(path) / META).read_text(encoding="utf-8"))
    return ShippedModel(kind.default_model, kind.name, path, meta["weights_sha256"])


def register_shipped(session: Session) -> list[ShippedModel]:
    """Register every registered kind's shipped default in `session` (the caller commits)."""
    shipped = [model for kind in kinds().values() if (model := shipped_model(kind))]
    for model in shipped:
        register_model(session, name=model.name, kind=model.kind, version=model.version,
                       checkpoint_path=model.checkpoint_path, sha256=model.sha256)
    return shipped


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    if settings.model_backend != "alpaca":
        log.info("model backend %s: the worker registers its defaults itself", settings.model_backend)
        return
    with session_scope(settings.effective_database_url) as session:
        for model in register_shipped(session):
            log.info("model %s (kind %s) version %s registered", model.name, model.kind,
                     model.version)


if __name__ == "__main__":
    main()
