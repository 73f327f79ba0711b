"""Where a latency tail comes from: when the slow requests were in flight, and whether the
API's processes were waiting for a CPU then.

`RunQueueWait` samples, for the API's processes, the time their threads have spent runnable but
not running: Linux counts it per thread (/proc/PID/task/TID/schedstat, field 2). Its rate is the
average number of API threads waiting for a CPU. If that number is high while slow requests are
in flight and near zero otherwise, the tail is CPU starvation (other processes had the cores),
not the database, the disk or the garbage collector, which leave the threads sleeping, not
runnable. `DatabaseWaits` samples what the database's busy sessions are waiting for
(pg_stat_activity): commits queued on the WAL flush (WALWrite, WALSync) while slow requests are
in flight say the tail is the disk's flush latency. `CommitProbe` measures that latency side by
side: a separate session inserts one row into a table of its own and commits every
PROBE_SECONDS, and times each commit. The row is WAL-logged, so the commit waits for the WAL flush
as a submit's does (a transaction that wrote no WAL commits without waiting, even with a
transaction id). Its p99 is the floor of any durable submit's p99 on that server at that time.

Linux only; elsewhere the wait reads as None.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import create_engine, text

SAMPLE_SECONDS = 0.05
PROBE_SECONDS = 0.1  # between CommitProbe's commits: 10/s, a quarter of P5's paced submits
RESCAN_EVERY = 20  # samples between looks for threads started or ended


def run_queue_ns(pid: int) -> int | None:
    """Nanoseconds the process's threads have waited on a run queue so far (None: unknown)."""
    with ThreadStats([pid]) as stats:
        return stats.read()


class ThreadStats:
    """The schedstat files of every thread of some processes, kept open: a sample is one
    pread per thread (a glob and an open per thread would cost the sampling process ~1 ms of
    CPU per 40 threads, taken from the benchmark's clients)."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids, self.files = list(pids), {}  # (pid, tid) -> file descriptor

    def __enter__(self) -> ThreadStats:
        self.rescan()
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()

    def rescan(self) -> None:
        for pid in self.pids:
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # the process ended
            for tid in tids:
                if (pid, tid) not in self.files:
                    try:
                        self.files[pid, tid] = os.open(f"/proc/{pid}/task/{tid}/schedstat",
                                                       os.O_RDONLY)
                    except OSError:
                        continue  # the thread ended meanwhile

    def read(self) -> int | None:
        """The summed run-queue wait of the threads (None: no thread could be read)."""
        total, found = 0, False
        for key, fd in list(self.files.items()):
            try:
                total += int(os.pread(fd, 128, 0).split()[1])
                found = True
            except (OSError, IndexError, ValueError):
                os.close(self.files.pop(key))  # the thread ended
        return total if found else None


class _Sampler:
    """A thread that runs `_run` between __enter__ and __exit__; `_run` loops on `_next()`."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):  # noqa: ANN204 - the subclass
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        raise NotImplementedError

    def _next(self, seconds: float = SAMPLE_SECONDS) -> bool:
        """Wait `seconds`; False once the sampler is stopped."""
        return not self._stop.wait(seconds)


class RunQueueWait(_Sampler):
    """Samples the run-queue wait of some processes every SAMPLE_SECONDS, in a thread."""

    def __init__(self, pids: Sequence[int]) -> None:
        super().__init__()
        self.pids = list(pids)
        self.samples: list[tuple[float, int]] = []  # (time.time(), summed wait ns)

    def _run(self) -> None:
        with ThreadStats(self.pids) as stats:
            n = 0
            while True:
                n += 1
                if n % RESCAN_EVERY == 0:
                    stats.rescan()
                wait = stats.read()
                if wait is not None:
                    self.samples.append((time.time(), wait))
                if not self._next():
                    return

    def waited(self, start: float, end: float) -> float | None:
        """Seconds the processes waited for a CPU between two times.time() values (summed over
        their threads, so it can exceed end - start)."""
        if len(self.samples) < 2:
            return None
        times = [t for t, _ in self.samples]
        last = len(times) - 1
        i = min(bisect.bisect_left(times, start), last)
        j = min(bisect.bisect_left(times, end), last)
        return (self.samples[j][1] - self.samples[i][1]) / 1e9


class _DatabaseSampler(_Sampler):
    """A sampler with an engine of its own on one database, disposed of when it stops."""

    def __init__(self, database_url: str, **engine_options: object) -> None:
        super().__init__()
        self.engine = create_engine(database_url, **engine_options)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.engine.dispose()


class DatabaseWaits(_DatabaseSampler):
    """Samples, every SAMPLE_SECONDS in a thread, what the active sessions of one PostgreSQL
    database wait for (pg_stat_activity's wait event; none: on a CPU)."""

    QUERY = text("SELECT coalesce(wait_event, 'CPU') FROM pg_stat_activity WHERE datname = "
                 "current_database() AND state = 'active' AND pid <> pg_backend_pid()")

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url, isolation_level="AUTOCOMMIT")
        self.samples: list[tuple[float, Counter[str]]] = []

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while True:
                self.samples.append((time.time(), Counter(conn.execute(self.QUERY).scalars())))
                if not self._next():
                    return

    def average(self, periods: Sequence[tuple[float, float, int]],
                inside: bool) -> Counter[str]:
        """Average sessions per wait event over the samples inside (or outside) the periods."""
        total, n = Counter(), 0
        for t, waits in self.samples:
            if any(a <= t <= b for a, b, _ in periods) == inside:
                total.update(waits)
                n += 1
        return Counter({event: count / n for event, count in total.items()}) if n else Counter()


class CommitProbe(_DatabaseSampler):
    """Times a small durable commit on one PostgreSQL database every PROBE_SECONDS, in a thread:
    one row into PROBE_TABLE (a plain, WAL-logged table it creates), then COMMIT, which waits
    for the WAL flush (synchronous_commit on), like a submit's insert of its job."""

    PROBE_TABLE = "bench_commit_probe"

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.samples: list[tuple[float, float]] = []  # (time.time() at the start, latency ms)

    def _run(self) -> None:
        insert = text(f"INSERT INTO {self.PROBE_TABLE} (at) VALUES (:at)")
        with self.engine.connect() as conn:
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS {self.PROBE_TABLE} (at float8)"))
            conn.commit()
            while True:
                at, started = time.time(), time.perf_counter()
                conn.execute(insert, {"at": at})
                conn.commit()
                self.samples.append((at, (time.perf_counter() - started) * 1000))
                if not self._next(PROBE_SECONDS):
                    return


def slow_periods(requests: Sequence[tuple[float, float]],
                 slow_ms: float) -> list[tuple[float, float, int]]:
    """The times some slow request (over `slow_ms`) was in flight: the overlapping [start, end]
    of the slow requests ((start time.time(), latency ms)) merged; (start, end, how many) each."""
    spans = sorted((start, start + ms / 1000) for start, ms in requests if ms > slow_ms)
    out: list[list[float]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1][1], out[-1][2] = max(out[-1][1], end), out[-1][2] + 1
        else:
            out.append([start, end, 1])
    return [(a, b, int(n)) for a, b, n in out]


def summary(requests: Sequence[tuple[float, float]], slow_ms: float, wait: RunQueueWait | None,
            db: DatabaseWaits | None = None) -> dict[str, object]:
    """Slow requests, the periods they span, and how many of the API's threads were, on
    average, waiting for a CPU inside those periods and outside them; with `db`, the database
    sessions' two commonest waits inside and outside."""
    periods = slow_periods(requests, slow_ms)
    start = min(s for s, _ in requests)
    end = max(s + ms / 1000 for s, ms in requests)
    slow_seconds = sum(b - a for a, b, _ in periods)
    out: dict[str, object] = {
        "slow": sum(n for _, _, n in periods), "periods": len(periods),
        "slow_seconds": slow_seconds, "seconds": end - start,
        "waiting_in": None, "waiting_out": None, "db_in": [], "db_out": []}
    if db is not None:
        out["db_in"] = db.average(periods, True).most_common(2)
        out["db_out"] = db.average(periods, False).most_common(2)
    waited, waited_in = wait.waited(start, end) if wait else None, 0.0
    if waited is None:
        return out
    for a, b, _ in periods:
        waited_in += wait.waited(a, b) or 0.0
    if slow_seconds > 0:
        out["waiting_in"] = waited_in / slow_seconds
    if end - start > slow_seconds:
        out["waiting_out"] = (waited - waited_in) / (end - start - slow_seconds)
    return out
