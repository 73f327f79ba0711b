"""The worker loads its models with the inference runtime of its settings (alpaca/runtime.py)."""

from __future__ import annotations

from alpaca import runtime


def test_the_worker_runs_the_fast_path_unless_told_otherwise(tmp_path):
    from config import Settings
    from worker.model_cache import backend_loader, with_runtime

    settings = Settings(model_backend="tiny", var_dir=tmp_path)
    model = with_runtime(backend_loader(settings), settings)(None)
    assert model.runtime.options == runtime.RuntimeOptions(path="fast")
    naive = Settings(model_backend="tiny", var_dir=tmp_path, runtime_path="naive")
    assert with_runtime(backend_loader(naive), naive)(None).runtime.options.path == "naive"
