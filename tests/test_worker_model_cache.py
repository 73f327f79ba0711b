"""The model seam (worker/model_cache.py) and content-addressed storage (worker/storage.py)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import delete

from config import Settings
from store import session_scope
from store.catalog import list_models, register_model
from store.models import ModelVersion, Tenant
from kinds import ServableModel
from worker.model_cache import Location, ModelCache, UnknownModel, kind_loader, locate_model
from worker.model_cache import register_default
from worker.storage import save_png


DEFAULT = Location(None, None)


def fake_loader(log: list):  # noqa: ANN001, ANN201
    def load(location):  # noqa: ANN001, ANN202
        log.append(location.checkpoint_dir)
        return SimpleNamespace(name="m", version=f"v-{location.checkpoint_dir or 'default'}")
    return load


def at(checkpoint_dir: str) -> Location:
    return Location(checkpoint_dir, f"v-{checkpoint_dir}")


def test_cache_loads_each_checkpoint_once_and_evicts_the_least_recently_used():
    loads: list = []
    cache = ModelCache(fake_loader(loads), size=2)
    assert cache.get(DEFAULT).version == "v-default"
    assert cache.get(DEFAULT) is cache.get(Location(None, "v-default"))
    cache.get(at("/ckpt/a"))
    cache.get(DEFAULT)  # default is now the most recent
    cache.get(at("/ckpt/b"))  # evicts a
    cache.get(DEFAULT)
    cache.get(at("/ckpt/a"))  # loaded again
    assert loads == [None, "/ckpt/a", "/ckpt/b", "/ckpt/a"] and cache.loads == 4


def test_unknown_backend_is_refused_with_its_name():
    with pytest.raises(ValueError, match="'gpt'"):
        kind_loader(Settings(model_backend="gpt"))


def test_stub_backend_builds_the_stand_in_model_as_a_servable_model():
    model = kind_loader(Settings(model_backend="stub"))(DEFAULT)
    assert isinstance(model, ServableModel) and model.kind == "shapes"
    step = next(iter(model.generate(["a"], [1], rounds=0)))
    assert step.images.dtype == np.uint8 and step.done == [True]


def test_model_refs_resolve_through_the_catalog(sqlite_url):
    with session_scope(sqlite_url) as session:
        register_default(session, SimpleNamespace(version="d1"), "/ckpt/default")
        register_default(session, SimpleNamespace(version="d1"), "/ckpt/default")  # idempotent
        register_model(session, name="brand-x", version="f1", checkpoint_path="/ckpt/f1",
                       sha256="f" * 64, tenant_id=None)
        assert [m.version for m in list_models(session, None)] == ["d1", "f1"]
        register_model(session, name="banner", version="a1", checkpoint_path="/ckpt/a1",
                       sha256="a" * 64, kind="ads")
        assert locate_model(session, None, None) == Location(None, None, "shapes")
        assert locate_model(session, "default", None) == Location(None, None, "shapes")
        assert locate_model(session, "d1", None) == Location(None, "d1", "shapes")
        assert locate_model(session, "brand-x", None) == ("/ckpt/f1", "f1", "shapes", "f" * 64)
        assert locate_model(session, "banner", None) == ("/ckpt/a1", "a1", "ads", "a" * 64)
        with pytest.raises(UnknownModel, match="nope"):
            locate_model(session, "nope", None)


def test_the_cache_remembers_a_version_reference_and_looks_a_name_up_every_time(sqlite_url):
    cache = ModelCache(fake_loader([]))
    with session_scope(sqlite_url) as session:
        owner, other = (add_tenant(session, name) for name in ("owner", "other"))
        register_model(session, name="brand-x", version="f1", checkpoint_path="/ckpt/f1",
                       sha256="f" * 64, tenant_id=None)
        register_model(session, name="own", version="o1", checkpoint_path="/ckpt/o1",
                       sha256="o" * 64, tenant_id=owner)
        assert cache.locate(session, "f1", owner)[:3] == ("/ckpt/f1", "f1", "shapes")
        assert cache.locate(session, "brand-x", owner)[:3] == ("/ckpt/f1", "f1", "shapes")
        assert cache.locate(session, "o1", owner)[:3] == ("/ckpt/o1", "o1", "shapes")
        session.execute(delete(ModelVersion))  # versions are never deleted; this shows who asks
        assert cache.locate(session, "f1", other)[:3] == ("/ckpt/f1", "f1", "shapes")  # public
        assert cache.locate(session, "o1", owner)[:3] == ("/ckpt/o1", "o1", "shapes")
        with pytest.raises(UnknownModel, match="brand-x"):
            cache.locate(session, "brand-x", owner)
        with pytest.raises(UnknownModel, match="o1"):
            cache.locate(session, "o1", other)  # another tenant's version stays unseen


def add_tenant(session, name: str) -> str:  # noqa: ANN001
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    return tenant.id


def test_png_is_stored_once_under_its_content_hash(tmp_path):
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[2:5, 3:6] = (255, 0, 0)
    rel, sha = save_png(tmp_path, image)
    assert save_png(tmp_path, image.copy()) == (rel, sha)
    assert rel == f"{sha[:2]}/{sha}.png"
    assert hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() == sha
    assert [p.name for p in tmp_path.rglob("*")] == [sha[:2], f"{sha}.png"]
    with pytest.raises(ValueError, match="uint8"):
        save_png(tmp_path, image.astype(np.float32))


def test_a_pickled_checkpoint_is_refused_by_its_type_where_it_is_read(tmp_path):
    from kinds import MissingCheckpoint, UnsafeCheckpoint
    from kinds.checkpoint_files import read_meta

    (tmp_path / "pt").mkdir()
    (tmp_path / "pt" / "model.pt").write_bytes(b"\x80\x04 not really a pickle")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "model.safetensors").write_bytes(b"\x80\x04 a pickle by another name")
    for folder in ("pt", "fake"):
        with pytest.raises(UnsafeCheckpoint, match="refusing to load pickled weights"):
            read_meta(tmp_path / folder, "alpaca")
    with pytest.raises(MissingCheckpoint):
        read_meta(tmp_path / "nothing-here", "alpaca")
