"""A job's progress reaches the Celery result backend (Flower) at most once per
PUBLISH_EVERY_SECONDS, and its last progress always."""

from __future__ import annotations

from types import SimpleNamespace

from store.items import Progress
from worker import tasks


class FakeTask:
    def __init__(self) -> None:
        self.request = SimpleNamespace(id="task-1")
        self.states: list[dict] = []

    def update_state(self, task_id: str, state: str, meta: dict) -> None:
        assert (task_id, state) == ("task-1", "PROGRESS")
        self.states.append(meta)


def test_progress_is_published_first_then_throttled_and_the_last_always(monkeypatch):
    monkeypatch.setattr(tasks, "PUBLISH_EVERY_SECONDS", 3600.0)
    task = FakeTask()
    publish = tasks.progress_publisher(task)
    for done in (32, 64, 96, 100):
        publish("job-1", Progress(done=done, failed=0, total=100, round=3))
    assert [meta["done"] for meta in task.states] == [32, 100]
