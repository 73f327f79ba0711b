"""The worker's models: loaded lazily, once per process, kept in a small LRU keyed by version.

The worker reaches the model only through this seam. A *loader* turns a checkpoint folder (None:
the shipped default) into a model with `version`, `name` and `generate(...)`; which loader a
process uses comes from settings.model_backend:

- "alpaca": `alpaca.load(checkpoint_dir, device=settings.device)` (production);
- "tiny": `alpaca.tiny_model(seed=0)`, the real model class in an untrained tiny config (tests);
  versions fine-tuned from it load from their checkpoint folders like "alpaca" ones;
- "stub": `worker.stub_model.StubModel`, a stand-in that sleeps per item (delivery tests, benches).

Nothing is loaded at import or in `worker_process_init` (Celery kills those handlers after 4 s);
the first job that needs a model loads it. A job's model reference resolves (`locate_model`) as:
None or "default" -> the shipped default, registered in the models table on first use
(`register_default`); anything else -> the catalog (`store.catalog.find_model`) -> its
checkpoint path. The cache remembers the answers that cannot change (`ModelCache.locate`): a
registered version is never altered or deleted, so a reference that is a version hash resolves
the same way for good, and a busy worker (a job pinned at submit, riders looked at every few
milliseconds) stops asking the catalog. A name resolves to its newest version, which may change,
so names are looked up every time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import Settings
from store.catalog import DEFAULT_MODEL_NAME, find_model, register_model
from store.models import ModelVersion

log = logging.getLogger(__name__)

Loader = Callable[[str | None], Any]
Location = tuple[str | None, str | None]  # (checkpoint dir, None: the default; version)
LOCATIONS_KEPT = 4096  # remembered (reference, tenant) answers; all forgotten when full


class UnknownModel(LookupError):
    """The job names a model version the catalog does not have (for this tenant)."""


def backend_loader(settings: Settings) -> Loader:
    """The loader for settings.model_backend; imports the model package only when chosen."""
    backend = settings.model_backend
    if backend == "stub":
        from worker.stub_model import StubModel

        return lambda _checkpoint_dir: StubModel(item_seconds=settings.stub_item_seconds)
    if backend == "tiny":
        import alpaca

        # The default is the untrained tiny model; a fine-tuned version loads from its folder.
        return lambda checkpoint_dir: (alpaca.load(checkpoint_dir) if checkpoint_dir
                                       else alpaca.tiny_model(seed=0))
    if backend == "alpaca":
        import alpaca

        return lambda checkpoint_dir: alpaca.load(checkpoint_dir or None, device=settings.device)
    raise ValueError(f"model_backend must be alpaca, tiny or stub, got {backend!r}")


def with_runtime(loader: Loader, settings: Settings) -> Loader:
    """`loader`, with every Alpaca model it loads set up to run settings' inference runtime
    (alpaca/runtime.py: the fast path by default). The stub backend passes through unchanged."""
    if settings.model_backend == "stub":
        return loader
    from alpaca.engine import EngineOptions as RuntimeOptions, prepare

    options = RuntimeOptions(  # checked here, when the worker starts, not at the first job
        path=settings.runtime_path, channels_last=settings.runtime_channels_last,
        compile=settings.runtime_compile, dtype=settings.runtime_dtype or None,
        quantize=settings.runtime_quantize, threads=settings.runtime_threads)
    return lambda checkpoint_dir: prepare(loader(checkpoint_dir), options)


class ModelCache:
    """At most `size` loaded models, least recently used evicted first."""

    def __init__(self, loader: Loader, size: int = 2) -> None:
        if size < 1:
            raise ValueError(f"model cache size must be at least 1, got {size}")
        self._loader = loader
        self._size = size
        self._models: OrderedDict[str, Any] = OrderedDict()  # version -> model
        self._aliases: dict[str | None, str] = {}  # checkpoint dir (None: default) -> version
        self._lock = threading.Lock()
        self._locations: dict[tuple[str | None, str | None], Location] = {}
        self._registered: set[str] = set()  # default versions this process put in the catalog
        self.loads = 0  # how many times a loader ran (a test and a log line read it)

    def locate(self, session: Session, ref: str | None, tenant_id: str | None) -> Location:
        """`locate_model`, remembering the answer when `ref` is the version it resolves to: under
        the tenant that owns the version, or for everyone when the version is public."""
        if _means_default(ref):
            return None, None
        with self._lock:
            known = self._locations.get((ref, tenant_id)) or self._locations.get((ref, None))
        if known is not None:
            return known
        row = find_model(session, ref, tenant_id)
        location = _location(ref, row)
        if row.version == ref:
            with self._lock:
                if len(self._locations) >= LOCATIONS_KEPT:
                    self._locations.clear()
                self._locations[(ref, row.tenant_id)] = location
        return location

    def registered(self, version: str) -> bool:
        """Whether this process has put default `version` in the catalog (`note_registered`)."""
        return version in self._registered

    def note_registered(self, version: str) -> None:
        """Default `version` is in the catalog: `register_default` committed it."""
        self._registered.add(version)

    def get(self, checkpoint_dir: str | None, version: str | None = None) -> Any:
        """The model for `version` (or the checkpoint's current version), loading it if needed."""
        with self._lock:
            key = version or self._aliases.get(checkpoint_dir)
            if key is not None and key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = self._load(checkpoint_dir, version)
            self._aliases[checkpoint_dir] = model.version
            self._models[model.version] = model
            while len(self._models) > self._size:
                evicted, _ = self._models.popitem(last=False)
                self._aliases = {k: v for k, v in self._aliases.items() if v != evicted}
                log.info("model %s evicted from the cache", evicted)
            return model

    def _load(self, checkpoint_dir: str | None, version: str | None) -> Any:
        log.info("loading model from %s", checkpoint_dir or "the default checkpoint")
        model = self._loader(checkpoint_dir)
        self.loads += 1
        if version is not None and model.version != version:
            log.warning("checkpoint %s holds version %s, the catalog says %s",
                        checkpoint_dir, model.version, version)
        log.info("model %s version %s loaded", getattr(model, "name", "?"), model.version)
        return model


def locate_model(session: Session, ref: str | None,
                 tenant_id: str | None) -> Location:
    """(checkpoint dir, version) for a job's model reference; None dir means the shipped default.

    Raises UnknownModel if the catalog has no such version for the tenant. Reads only, so the
    (slow) load can happen outside the transaction.
    """
    if _means_default(ref):
        return None, None
    return _location(ref, find_model(session, ref, tenant_id))


def _means_default(ref: str | None) -> bool:
    return ref in (None, "", DEFAULT_MODEL_NAME)


def _location(ref: str | None, row: ModelVersion | None) -> Location:
    if row is None:
        raise UnknownModel(f"unknown model {ref!r}")
    if row.name == DEFAULT_MODEL_NAME and row.tenant_id is None:
        return None, row.version
    return row.checkpoint_path, row.version


def default_checkpoint_path(settings: Settings) -> str:
    """What the models table records as the default's checkpoint for this backend."""
    if settings.model_backend == "alpaca":
        import alpaca

        return str(alpaca.DEFAULT_CHECKPOINT)
    return f"<{settings.model_backend} backend>"


def register_default(session: Session, model: Any, checkpoint_path: str) -> None:
    """Put the default model in the models table (idempotent; a concurrent insert is fine)."""
    sha256 = (getattr(model, "meta", None) or {}).get("weights_sha256", model.version)
    try:
        with session.begin_nested():
            register_model(session, name=DEFAULT_MODEL_NAME, version=model.version,
                           checkpoint_path=checkpoint_path, sha256=sha256)
    except IntegrityError:
        log.info("default model %s was registered concurrently", model.version)
