"""The worker loads its models with the inference runtime of its settings (alpaca/engine.py)."""

from __future__ import annotations

from alpaca.engine import EngineOptions


def test_the_worker_runs_the_fast_path_unless_told_otherwise(tmp_path):
    from config import Settings
    from worker.model_cache import backend_loader, with_runtime

    settings = Settings(model_backend="tiny", var_dir=tmp_path)
    model = with_runtime(backend_loader(settings), settings)(None)
    assert model.engine.options == EngineOptions(path="fast")
    naive = Settings(model_backend="tiny", var_dir=tmp_path, runtime_path="naive")
    assert with_runtime(backend_loader(naive), naive)(None).engine.options.path == "naive"
