"""The live progress bar of a job on a rich console: items done of total, round, status."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn,
                           TimeElapsedColumn)


class JobProgress:
    """A context manager; call it with each polled job (a JobPublic body) to redraw the bar."""

    def __init__(self, console: Console, job_id: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("items  round {task.fields[round]}/{task.fields[rounds]}"),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
            console=console, transient=False)
        self.task: TaskID = self.progress.add_task(
            f"job {job_id[:8]}", total=None, round=0, rounds="?", status="queued")

    def __enter__(self) -> JobProgress:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def __call__(self, job: dict[str, Any]) -> None:
        done, total = job_counts(job)
        self.progress.update(self.task, completed=done, total=total,
                             round=job["progress"].get("current_round", 0),
                             rounds=job.get("params", {}).get("rounds", "?"),
                             status=job.get("status", "?"))


def job_counts(job: dict[str, Any]) -> tuple[int, int]:
    """(items finished, succeeded or failed; items in the job). The API's `done` counts both
    (`failed` says how many of them failed)."""
    progress = job["progress"]
    return progress["done"], progress["total"]
