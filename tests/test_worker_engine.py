"""The batch engine (worker/engine.py) with the real Alpaca model class in its tiny config.

Runs jobs in-process against SQLite and PostgreSQL: results and PNGs per item, resume after a
crash without redoing finished items, cancel at batch and round boundaries, an item the model
rejects, an unknown model, the attempt cap.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy.exc
from PIL import Image
from sqlalchemy import event, select

from store import session_scope
from store.db import get_engine
from store.catalog import register_model
from store.models import ModelVersion
from tests.worker_support import add_job, load_items, load_job, make_runtime, set_cancel
from worker.engine import run_job
from worker.stub_model import StubModel

REJECT = "<reject>"
PROMPTS = ["a small red star left of a large blue square", "three yellow circles",
           "一个绿色的三角形", "a purple square on an orange background", "two white circles",
           "一个小的红色圆形在一个大的蓝色正方形左边", "a blue star", "four green triangles",
           "a large black circle", "一个黄色的星星"]


@pytest.fixture(scope="module")
def tiny_model() -> Iterator[Any]:
    """The real model class, tiny and untrained; one torch thread, as the CI machine is shared."""
    import alpaca
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield alpaca.tiny_model(seed=0)
    torch.set_num_threads(threads)


class Recorder:
    """The tiny model, recording each batch it runs; rejects prompts containing REJECT.

    `on_step(batch_number, step)` runs after each round, to crash or cancel at a chosen point.
    """

    def __init__(self, model: Any, on_step: Callable[[int, Any], None] | None = None) -> None:
        self.model, self.on_step = model, on_step
        self.version, self.name = model.version, model.name
        self.batches: list[list[str]] = []

    def generate(self, prompts, seeds, rounds=3, early_exit=True):  # noqa: ANN001, ANN201
        self.batches.append(list(prompts))
        rejected = [p for p in prompts if REJECT in p]
        if rejected:
            raise ValueError(f"cannot draw {rejected[0]!r}")
        for step in self.model.generate(prompts, seeds, rounds=rounds, early_exit=early_exit):
            yield step
            if self.on_step is not None:
                self.on_step(len(self.batches), step)


def runtime_for(url: str, storage: Path, model: Any, **overrides: Any):  # noqa: ANN201
    return make_runtime(url, storage, loader=lambda _location: model, **overrides)


def test_engine_runs_a_job_to_success_with_the_tiny_alpaca_model(database_url, tmp_path,
                                                                  tiny_model):
    rt = runtime_for(database_url, tmp_path, tiny_model, batch_size=4)
    job_id = add_job(database_url, PROMPTS, params={"rounds": 2})
    published = []
    assert run_job(job_id, rt, "w1", lambda _id, p: published.append(p.done)) == "succeeded"
    job, items = load_job(database_url, job_id), load_items(database_url, job_id)
    assert (job.status, job.attempt, job.done_items, job.failed_items) == ("succeeded", 1, 10, 0)
    assert job.model_version == tiny_model.version and job.finished_at is not None
    assert published == [4, 8, 10, 10]
    assert [i.index for i in items] == list(range(10)) and {i.status for i in items} == {"succeeded"}
    for item in items:
        data = (tmp_path / item.image_path).read_bytes()
        assert item.image_path == f"{item.image_sha256[:2]}/{item.image_sha256}.png"
        assert hashlib.sha256(data).hexdigest() == item.image_sha256
        assert Image.open(tmp_path / item.image_path).mode == "RGB"
        assert 1 <= item.rounds_run <= 3 and len(item.control_texts) == item.rounds_run
        assert len(item.agreements) == item.rounds_run
        assert all(0.0 <= a <= 1.0 for a in item.agreements)
        assert item.compute_ms > 0 and item.lease_owner is None and item.attempt == 1
    with session_scope(database_url) as session:
        model_row = session.scalars(select(ModelVersion)).one()
    assert (model_row.name, model_row.version) == ("default", tiny_model.version)


def test_model_loads_once_per_process_across_jobs(database_url, tmp_path, tiny_model):
    rt = runtime_for(database_url, tmp_path, tiny_model)
    for _ in range(2):
        assert run_job(add_job(database_url, PROMPTS[:2]), rt, "w1") == "succeeded"
    assert rt.models.loads == 1


def test_a_job_pinned_to_the_loaded_version_runs_without_reading_or_writing_the_catalog(
        database_url, tmp_path):
    rt = make_runtime(database_url, tmp_path)
    first = add_job(database_url, PROMPTS[:2])  # unpinned: registers the default and pins
    assert run_job(first, rt, "w1") == "succeeded"
    version = load_job(database_url, first).model_version
    assert run_job(add_job(database_url, PROMPTS[:2], model_ref=version), rt, "w1") == "succeeded"
    pinned = add_job(database_url, PROMPTS[:2], model_ref=version)  # as the API pins a job
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        statements.append(statement)

    engine = get_engine(database_url)
    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert run_job(pinned, rt, "w1") == "succeeded"
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert statements and not [s for s in statements if CATALOG.search(s)]


def test_same_seed_and_prompt_give_the_same_png(database_url, tmp_path, tiny_model):
    rt = runtime_for(database_url, tmp_path, tiny_model, batch_size=3)
    first, second = add_job(database_url, PROMPTS[:3]), add_job(database_url, PROMPTS[:3])
    run_job(first, rt, "w1")
    rt.settings.batch_size = 1  # batch composition must not change an item
    run_job(second, rt, "w1")
    shas = [[i.image_sha256 for i in load_items(database_url, j)] for j in (first, second)]
    assert shas[0] == shas[1]


CATALOG = re.compile(r"\bFROM models\b|\bINTO models\b|\bSET model_version\b")


def crash_in_batch(number: int, error: BaseException) -> Callable[[int, Any], None]:
    def on_step(batch: int, _step: Any) -> None:
        if batch == number:
            raise error
    return on_step


def test_redelivered_job_resumes_and_never_redoes_finished_items(database_url, tmp_path,
                                                                 tiny_model):
    crashing = Recorder(tiny_model, crash_in_batch(2, RuntimeError("simulated model crash")))
    rt = runtime_for(database_url, tmp_path, crashing, batch_size=4)
    job_id = add_job(database_url, PROMPTS)
    with pytest.raises(RuntimeError, match="simulated"):
        run_job(job_id, rt, "w1")
    job = load_job(database_url, job_id)
    assert (job.status, job.attempt) == ("queued", 1) and "RuntimeError" in job.error
    statuses = [i.status for i in load_items(database_url, job_id)]
    assert statuses == ["succeeded"] * 4 + ["pending"] * 6
    resumed = Recorder(tiny_model)
    assert run_job(job_id, runtime_for(database_url, tmp_path, resumed, batch_size=4), "w2") == (
        "succeeded")
    assert resumed.batches == [PROMPTS[4:8], PROMPTS[8:]]
    items = load_items(database_url, job_id)
    job = load_job(database_url, job_id)
    assert (job.attempt, job.error, job.error_code) == (2, None, None)
    assert [i.attempt for i in items] == [1] * 4 + [2] * 4 + [1] * 2
    assert {i.status for i in items} == {"succeeded"}


def test_a_transient_database_error_hands_the_run_back_without_using_an_attempt(
        database_url, tmp_path, tiny_model):
    outage = sqlalchemy.exc.OperationalError("UPDATE jobs", {}, Exception("server closed"))
    rt = runtime_for(database_url, tmp_path, Recorder(tiny_model, crash_in_batch(2, outage)),
                     batch_size=5)
    job_id = add_job(database_url, PROMPTS)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        run_job(job_id, rt, "w1")
    assert (load_job(database_url, job_id).status, load_job(database_url, job_id).attempt) == (
        "queued", 0)
    assert run_job(job_id, runtime_for(database_url, tmp_path, tiny_model), "w2") == "succeeded"
    assert load_job(database_url, job_id).attempt == 1


def test_a_job_that_fails_every_attempt_ends_as_worker_crashed(database_url, tmp_path, tiny_model):
    job_id = add_job(database_url, PROMPTS[:2])
    for attempt in (1, 2, 3):
        crashing = Recorder(tiny_model, crash_in_batch(1, RuntimeError("always")))
        rt = runtime_for(database_url, tmp_path, crashing, max_attempts=3)
        with pytest.raises(RuntimeError):
            run_job(job_id, rt, f"w{attempt}")
    assert run_job(job_id, rt, "w4") == "crashed"
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "worker_crashed", 3)
    assert {i.error_code for i in load_items(database_url, job_id)} == {"worker_crashed"}


def test_cancel_mid_job_stops_within_the_next_batch_and_keeps_finished_items(
        database_url, tmp_path, tiny_model):
    recorder = Recorder(tiny_model)
    rt = runtime_for(database_url, tmp_path, recorder, batch_size=3)
    job_id = add_job(database_url, PROMPTS)
    cancel_after_first = lambda _id, p: p.done == 3 and set_cancel(database_url, job_id)  # noqa: E731
    assert run_job(job_id, rt, "w1", cancel_after_first) == "canceled"
    # The first batch's progress is written while the second runs (RecordBehind): the second
    # stops at its next round, or ends, but no third starts.
    assert len(recorder.batches) == 2
    items = load_items(database_url, job_id)
    statuses = [i.status for i in items]
    assert statuses[:3] == ["succeeded"] * 3 and statuses[6:] == ["canceled"] * 4
    assert set(statuses[3:6]) <= {"succeeded", "canceled"}  # kept if it ended before the stop
    done = [i for i in items if i.status == "succeeded"]
    assert all((tmp_path / i.image_path).exists() for i in done)
    job = load_job(database_url, job_id)
    assert (job.status, job.done_items) == ("canceled", len(done))


def cancel_in_second_batch(url: str, job_id: str,
                           rounds_seen: list[tuple[int, int]]) -> Callable[[int, Any], None]:
    """An `on_step` that notes each (batch, round) and cancels the job at batch 2's round 0."""
    def on_step(batch: int, step: Any) -> None:
        rounds_seen.append((batch, step.round))
        if batch == 2 and step.round == 0:
            set_cancel(url, job_id)
    return on_step


def test_cancel_between_rounds_stops_the_batch_in_flight(database_url, tmp_path, tiny_model):
    job_id = add_job(database_url, PROMPTS, params={"rounds": 3, "early_exit": False})
    rounds_seen: list[tuple[int, int]] = []
    model = Recorder(tiny_model, cancel_in_second_batch(database_url, job_id, rounds_seen))
    rt = runtime_for(database_url, tmp_path, model, batch_size=4)
    assert run_job(job_id, rt, "w1") == "canceled"
    assert rounds_seen[-1] == (2, 0)  # the next round never ran
    statuses = [i.status for i in load_items(database_url, job_id)]
    assert statuses == ["succeeded"] * 4 + ["canceled"] * 6


def test_rounds_quicker_than_round_beat_seconds_run_on_and_the_next_batch_sees_the_cancel(
        database_url, tmp_path):
    job_id = add_job(database_url, PROMPTS, params={"rounds": 3, "early_exit": False})
    rounds_seen: list[tuple[int, int]] = []
    model = Recorder(StubModel(item_seconds=0.0),
                     cancel_in_second_batch(database_url, job_id, rounds_seen))
    rt = runtime_for(database_url, tmp_path, model, batch_size=4, round_beat_seconds=3600)
    assert run_job(job_id, rt, "w1") == "canceled"
    assert rounds_seen[-1] == (2, 3)  # no heartbeat between the rounds: the batch ran out
    statuses = [i.status for i in load_items(database_url, job_id)]
    assert statuses == ["succeeded"] * 8 + ["canceled"] * 2


def test_an_item_the_model_rejects_fails_with_its_reason_and_the_rest_succeed(
        database_url, tmp_path, tiny_model):
    prompts = PROMPTS[:3] + [f"a red star {REJECT}"] + PROMPTS[3:6]
    rt = runtime_for(database_url, tmp_path, Recorder(tiny_model), batch_size=4)
    job_id = add_job(database_url, prompts)
    assert run_job(job_id, rt, "w1") == "partial"
    items = load_items(database_url, job_id)
    bad = items[3]
    assert (bad.status, bad.error_code, bad.image_path) == ("failed", "invalid_input", None)
    assert REJECT in bad.error
    assert [i.status for i in items if i.index != 3] == ["succeeded"] * 6
    job = load_job(database_url, job_id)
    assert (job.done_items, job.failed_items, job.error) == (7, 1, "1 of 7 items failed")


def test_the_job_batch_size_applies_up_to_the_worker_maximum(database_url, tmp_path, tiny_model):
    sizes = []
    for requested in (2, 50):
        recorder = Recorder(tiny_model)
        rt = runtime_for(database_url, tmp_path, recorder, batch_size=4)
        run_job(add_job(database_url, PROMPTS, params={"rounds": 0, "batch_size": requested}),
                rt, "w1")
        sizes.append([len(b) for b in recorder.batches])
    assert sizes == [[2, 2, 2, 2, 2], [4, 4, 2]]


def test_a_job_with_bad_params_fails_with_the_reason(database_url, tmp_path, tiny_model):
    rt = runtime_for(database_url, tmp_path, tiny_model)
    job_id = add_job(database_url, PROMPTS[:2], params={"rounds": -1})
    assert run_job(job_id, rt, "w1") == "failed"
    job = load_job(database_url, job_id)
    assert (job.error_code, job.error) == ("invalid_params",
                                           "rounds must be a non-negative integer, got -1")


def test_a_job_naming_an_unknown_model_fails_without_running(database_url, tmp_path, tiny_model):
    recorder = Recorder(tiny_model)
    rt = runtime_for(database_url, tmp_path, recorder)
    job_id = add_job(database_url, PROMPTS[:2], model_ref="no-such-model")
    assert run_job(job_id, rt, "w1") == "failed"
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code) == ("failed", "unknown_model")
    assert "no-such-model" in job.error and recorder.batches == []


def test_a_checkpoint_that_cannot_be_loaded_fails_the_job_with_the_reason(database_url, tmp_path):
    import alpaca

    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "model.pt").write_bytes(b"not really a pickle")
    outcomes = []
    for path in (tmp_path / "missing", tmp_path / "evil"):
        with session_scope(database_url) as session:
            register_model(session, name=path.name, version=path.name, checkpoint_path=str(path),
                           sha256="0" * 64)
        rt = make_runtime(database_url, tmp_path,
                          loader=lambda location: alpaca.load(location.checkpoint_dir))
        job_id = add_job(database_url, PROMPTS[:1], model_ref=path.name)
        assert run_job(job_id, rt, "w1") == "failed"
        outcomes.append(load_job(database_url, job_id).error_code)
    assert outcomes == ["model_unavailable", "unsafe_checkpoint"]


def test_a_job_past_its_attempt_cap_fails_as_worker_crashed(database_url, tmp_path, tiny_model):
    rt = runtime_for(database_url, tmp_path, tiny_model, max_attempts=3)
    job_id = add_job(database_url, PROMPTS[:2], status="running", attempt=3, age_seconds=3600)
    assert run_job(job_id, rt, "w9") == "crashed"
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "worker_crashed", 3)


def test_a_finished_job_delivered_again_is_a_no_op(database_url, tmp_path, tiny_model):
    recorder = Recorder(tiny_model)
    rt = runtime_for(database_url, tmp_path, recorder)
    job_id = add_job(database_url, PROMPTS[:2])
    assert run_job(job_id, rt, "w1") == "succeeded"
    assert run_job(job_id, rt, "w2") == "terminal"
    assert len(recorder.batches) == 1 and load_job(database_url, job_id).attempt == 1


def test_images_are_uint8_rgb_as_the_contract_says(tiny_model):
    step = next(iter(tiny_model.generate(PROMPTS[:2], [1, 2], rounds=0)))
    assert step.images.dtype == np.uint8 and step.images.shape[0] == 2 and step.images.shape[3] == 3


def test_the_null_stub_model_never_sleeps(monkeypatch):
    """At 0 s per item the stand-in model does not call time.sleep(0): that still hands the GIL
    to the worker's recording threads every round (P4 measures the plumbing, not that)."""
    import worker.stub_model as stub

    slept = []
    monkeypatch.setattr(stub.time, "sleep", slept.append)
    steps = list(StubModel(item_seconds=0.0).generate(["a", "b"], [1, 2], rounds=3,
                                                      early_exit=False))
    assert len(steps) == 4 and slept == []
    list(StubModel(item_seconds=0.01).generate(["a"], [1], rounds=1, early_exit=False))
    assert slept == [0.01, 0.01]
