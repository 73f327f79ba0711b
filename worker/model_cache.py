"""The worker's models: loaded lazily, once per process, kept in a small LRU keyed by version.

The worker reaches a model only through the model seam (kinds/): a catalog row names its kind,
and `kinds.get_kind(kind).load(checkpoint_dir, LoadOptions(...))` loads it, with the inference
settings of this process (`load_options`); the kind applies what it supports. Which loader a
process uses comes from settings.model_backend (`kind_loader`):

- "alpaca": the kind's `load` (production), from the folder of the version's checkpoint, which
  for a fine-tuned version lives in object storage and is fetched on first use
  (worker/model_store.py);
- "tiny": the kind's `tiny()` untrained model for the shipped default (tests); versions
  fine-tuned from it load from their checkpoint folders like "alpaca" ones;
- "stub": `worker.stub_model.StubModel`, a stand-in that sleeps per item (delivery tests, benches).

Nothing is loaded at import or in `worker_process_init` (Celery kills those handlers after 4 s);
the first job that needs a model loads it. A job's model reference resolves (`locate_model`) as:
None or "default" -> the shipped default of the default kind, registered in the models table on
first use (`register_default`); anything else -> the catalog (`store.catalog.find_model`) -> its
checkpoint path and kind. The cache remembers the answers that cannot change (`ModelCache.locate`):
a registered version is never altered or deleted, so a reference that is a version hash resolves
the same way for good, and a busy worker (a job pinned at submit, riders looked at every few
milliseconds) stops asking the catalog. A name resolves to its newest version, which may change,
so names are looked up every time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import Settings
from kinds import DEFAULT_KIND, LoadOptions, ServableModel, get_kind
from objects import get_storage
from store.catalog import DEFAULT_MODEL_NAME, find_model, register_model
from store.models import ModelVersion
from worker.model_store import cache_root, local_folder

log = logging.getLogger(__name__)

LOCATIONS_KEPT = 4096  # remembered (reference, tenant) answers; all forgotten when full
BACKENDS = ("alpaca", "tiny", "stub")


class Location(NamedTuple):
    """Where a job's model comes from."""

    checkpoint_dir: str | None  # None: the kind's shipped default; a folder or a storage key
    version: str | None  # None: whatever the default checkpoint holds
    kind: str = DEFAULT_KIND  # the catalog's kind of the version (kinds.ModelKind.name)
    sha256: str | None = None  # the catalog's hash of the weights, checked on a fetch


DEFAULT = Location(None, None, DEFAULT_KIND)
Loader = Callable[[Location], ServableModel]


class UnknownModel(LookupError):
    """The job names a model version the catalog does not have (for this tenant)."""


def load_options(settings: Settings) -> LoadOptions:
    """The device and inference runtime this process asks every kind for."""
    return LoadOptions(
        device=settings.device, path=settings.runtime_path,
        channels_last=settings.runtime_channels_last, compile=settings.runtime_compile,
        dtype=settings.runtime_dtype or None, quantize=settings.runtime_quantize,
        threads=settings.runtime_threads)


def kind_loader(settings: Settings) -> Loader:
    """The loader for settings.model_backend; a kind's heavy modules load when it is called."""
    backend = settings.model_backend
    if backend not in BACKENDS:
        raise ValueError(f"model_backend must be alpaca, tiny or stub, got {backend!r}")
    if backend == "stub":
        from worker.stub_model import StubModel

        return lambda _location: StubModel(item_seconds=settings.stub_item_seconds)
    options = load_options(settings)

    def load(location: Location) -> ServableModel:
        kind = get_kind(location.kind)
        if location.checkpoint_dir is None:
            return kind.tiny() if backend == "tiny" and kind.tiny is not None else kind.load(
                None, options)
        folder = local_folder(get_storage(settings), location.checkpoint_dir,
                              cache_root(settings), location.sha256)
        return kind.load(str(folder), options)

    return load


class ModelCache:
    """At most `size` loaded models, least recently used evicted first."""

    def __init__(self, loader: Loader, size: int = 2) -> None:
        if size < 1:
            raise ValueError(f"model cache size must be at least 1, got {size}")
        self._loader = loader
        self._size = size
        self._models: OrderedDict[str, ServableModel] = OrderedDict()  # version -> model
        self._aliases: dict[tuple[str, str | None], str] = {}  # (kind, dir) -> version
        self._lock = threading.Lock()
        self._locations: dict[tuple[str | None, str | None], Location] = {}
        self._registered: set[str] = set()  # default versions this process put in the catalog
        self.loads = 0  # how many times a loader ran (a test and a log line read it)

    def locate(self, session: Session, ref: str | None, tenant_id: str | None) -> Location:
        """`locate_model`, remembering the answer when `ref` is the version it resolves to: under
        the tenant that owns the version, or for everyone when the version is public."""
        if _means_default(ref):
            return DEFAULT
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

    def serves(self, session: Session, ref: str | None, tenant_id: str | None,
               location: Location, version: str) -> bool:
        """Whether `ref`, for this tenant, is the model loaded from `location` as `version`
        (a reference the tenant may not use is not)."""
        try:
            found = self.locate(session, ref, tenant_id)
        except UnknownModel:
            return False
        return (found.checkpoint_dir, found.kind) == (location.checkpoint_dir, location.kind) \
            and found.version in (None, version)

    def registered(self, version: str) -> bool:
        """Whether this process has put default `version` in the catalog (`note_registered`)."""
        return version in self._registered

    def note_registered(self, version: str) -> None:
        """Default `version` is in the catalog: `register_default` committed it."""
        self._registered.add(version)

    def get(self, location: Location) -> ServableModel:
        """The model at `location` (its version, or the checkpoint's current one), loading it
        if needed."""
        alias = (location.kind, location.checkpoint_dir)
        with self._lock:
            key = location.version or self._aliases.get(alias)
            if key is not None and key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = self._load(location)
            self._aliases[alias] = model.version
            self._models[model.version] = model
            while len(self._models) > self._size:
                evicted, _ = self._models.popitem(last=False)
                self._aliases = {k: v for k, v in self._aliases.items() if v != evicted}
                log.info("model %s evicted from the cache", evicted)
            return model

    def _load(self, location: Location) -> ServableModel:
        where = location.checkpoint_dir or "the default checkpoint"
        log.info("loading %s model from %s", location.kind, where)
        model = self._loader(location)
        self.loads += 1
        if location.version is not None and model.version != location.version:
            log.warning("checkpoint %s holds version %s, the catalog says %s", where,
                        model.version, location.version)
        log.info("model %s version %s loaded", getattr(model, "name", "?"), model.version)
        return model


def locate_model(session: Session, ref: str | None, tenant_id: str | None) -> Location:
    """Where a job's model reference comes from; a None dir means the kind's shipped default.

    Raises UnknownModel if the catalog has no such version for the tenant. Reads only, so the
    (slow) load can happen outside the transaction.
    """
    if _means_default(ref):
        return DEFAULT
    return _location(ref, find_model(session, ref, tenant_id))


def _means_default(ref: str | None) -> bool:
    return ref in (None, "", DEFAULT_MODEL_NAME)


def _location(ref: str | None, row: ModelVersion | None) -> Location:
    if row is None:
        raise UnknownModel(f"unknown model {ref!r}")
    kind = row.kind or DEFAULT_KIND
    if row.name == DEFAULT_MODEL_NAME and row.tenant_id is None:
        return Location(None, row.version, kind)
    return Location(row.checkpoint_path, row.version, kind, row.sha256)


def default_checkpoint_path(settings: Settings) -> str:
    """What the models table records as the default's checkpoint for this backend."""
    kind = get_kind(DEFAULT_KIND)
    if settings.model_backend == "alpaca" and kind.default_checkpoint is not None:
        return kind.default_checkpoint()
    return f"<{settings.model_backend} backend>"


def register_default(session: Session, model: ServableModel, checkpoint_path: str) -> None:
    """Put the default model in the models table (idempotent; a concurrent insert is fine)."""
    sha256 = (getattr(model, "meta", None) or {}).get("weights_sha256", model.version)
    try:
        with session.begin_nested():
            register_model(session, name=DEFAULT_MODEL_NAME, version=model.version,
                           checkpoint_path=checkpoint_path, sha256=sha256,
                           kind=getattr(model, "kind", DEFAULT_KIND))
    except IntegrityError:
        log.info("default model %s was registered concurrently", model.version)
