"""The worker loads its models through their kind with the inference settings of its process
(the shapes model's engine: alpaca/engine.py)."""

from __future__ import annotations

from alpaca.engine import EngineOptions


def test_the_worker_runs_the_fast_path_unless_told_otherwise(tmp_path):
    import alpaca

    from config import Settings
    from worker.model_cache import Location, kind_loader

    checkpoint = tmp_path / "tiny"
    alpaca.save(alpaca.tiny_model(seed=0), checkpoint)
    location = Location(str(checkpoint), None, "shapes")
    settings = Settings(model_backend="alpaca", var_dir=tmp_path)
    assert kind_loader(settings)(location).engine.options == EngineOptions(path="fast")
    naive = Settings(model_backend="alpaca", var_dir=tmp_path, runtime_path="naive")
    assert kind_loader(naive)(location).engine.options.path == "naive"
    tiny = Settings(model_backend="tiny", var_dir=tmp_path)
    assert kind_loader(tiny)(Location(None, None)).engine.options.path == "fast"
