"""bench/ads: banners/s counts every brief and encodes every final banner; the report puts the
ads model next to the shapes model and says why P1 could not run."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bench import ads


class CountingModel:
    """Stands in for a model: records the batches and seeds it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[int]]] = []

    def generate(self, items, seeds, rounds=3):
        self.calls.append((list(items), list(seeds)))
        yield SimpleNamespace(images=[np.zeros((50, 320, 3), np.uint8) for _ in items])


def test_banners_per_s_runs_every_brief_in_batches_with_distinct_seeds() -> None:
    model = CountingModel()
    rate = ads.banners_per_s(model, [f"brief {i}" for i in range(5)], batch=2)
    assert rate > 0
    assert [len(items) for items, _ in model.calls] == [2, 2, 1]
    assert [s for _, seeds in model.calls for s in seeds] == [0, 1, 2, 3, 4]


def test_report_shows_ratio_to_shapes_by_size_and_the_p1_reason() -> None:
    result = {"n": 14, "reps": 3, "batch": 16, "threads": 2,
              "speed": {"ads": [4.0, 5.0, 6.0], "shapes": [9.0, 10.0, 11.0]},
              "ads_model": "ads v1", "shapes_model": "checkpoint default",
              "by_size": {"300x250": 5.5, "320x50": 7.0},
              "p1": {"error": "submit answered 422: model 'ads' is not known"}}
    text = ads.report(result)
    assert "| ads v1 | **5.0** | 4.0, 5.0, 6.0 | 0.50x |" in text
    assert "| 320x50 | 7.0 |" in text
    assert "not measurable: submit answered 422" in text
    assert "| ads banners/s through the loop, size mix | 5.0 | >= 10.0 | **no** |" in text


def test_the_shapes_model_beside_it_runs_the_fast_engine() -> None:
    from bench.ads import shapes_model

    model, what = shapes_model(1)
    assert model.engine.options.path == "fast" and what


def test_make_bench_summary_shows_p1_on_the_ads_job_and_p4_against_three_times() -> None:
    from bench.run_all import summary

    text = summary({
        "ads": {"speed": {"ads": [12.0], "shapes": [24.0]},
                "p1": {"items": 200, "items_per_s": 15.5, "efficiency": 0.971}},
        "p4": {"speed": {"system, null model": [500.0], "raw Celery no-op": [200.0]}}})
    assert "| P1 model time / wall, 200-item ads job (15.5 items/s) | 0.971 | >= 0.9 | yes |" in text
    assert "| 2.50x | >= 3x | **no** |" in text


def test_p4_report_names_the_storage_it_ran_on() -> None:
    from bench.p4_throughput import report

    text = report({"items": 1000, "jobs": 4, "reps": 3, "storage": "S3",
                   "speed": {"system, null model": [600.0], "raw Celery no-op": [400.0]}})
    assert "(S3 storage, median of 3)" in text and "**1.50x**" in text
