"""bench/timeline.py: slow requests merged into the periods they were in flight, and the
average number of API threads waiting for a CPU inside and outside those periods, and the
reference commit probe's transactions."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, text

from bench.timeline import CommitProbe, DatabaseWaits, RunQueueWait, run_queue_ns, slow_periods, summary

# (start, latency ms): two overlapping slow requests, a fast one, a lone slow one
REQUESTS = [(10.0, 300.0), (10.1, 250.0), (11.0, 5.0), (12.0, 80.0)]


def test_overlapping_slow_requests_form_one_period():
    assert slow_periods(REQUESTS, 50.0) == [(10.0, 10.35, 2), (12.0, 12.08, 1)]
    assert slow_periods(REQUESTS, 500.0) == []


class FakeWait(RunQueueWait):
    """One thread waiting for a CPU all through [10, 10.35), none otherwise."""

    def waited(self, start: float, end: float) -> float:
        return max(0.0, min(end, 10.35) - max(start, 10.0))


def test_summary_tells_waiting_threads_in_slow_periods_from_those_outside():
    t = summary(REQUESTS, 50.0, FakeWait([]))
    assert (t["slow"], t["periods"]) == (3, 2)
    assert t["slow_seconds"] == pytest.approx(0.43)
    assert t["waiting_in"] == pytest.approx(0.35 / 0.43)
    assert t["waiting_out"] == pytest.approx(0.0)
    assert summary(REQUESTS, 50.0, None)["waiting_in"] is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_run_queue_wait_of_a_live_process_is_read_and_of_a_missing_one_is_none():
    assert run_queue_ns(os.getpid()) >= 0
    assert run_queue_ns(2**22 + 12345) is None


def test_database_waits_are_averaged_inside_and_outside_the_slow_periods():
    db = DatabaseWaits.__new__(DatabaseWaits)  # samples only: no database needed
    db.samples = [(10.1, Counter(WALWrite=2, CPU=1)), (10.2, Counter(WALWrite=1)),
                  (11.0, Counter()), (11.5, Counter(CPU=1))]
    periods = slow_periods(REQUESTS, 50.0)
    assert db.average(periods, True) == Counter(WALWrite=1.5, CPU=0.5)
    assert db.average(periods, False) == Counter(CPU=0.5)


def test_each_probe_commit_writes_a_logged_row_so_it_waits_for_the_wal_flush(postgres_url):
    with CommitProbe(postgres_url) as probe:
        time.sleep(0.35)
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        rows = conn.scalar(text(f"SELECT count(*) FROM {CommitProbe.PROBE_TABLE}"))
        persistence = conn.scalar(text("SELECT relpersistence FROM pg_class WHERE relname = :t"),
                                  {"t": CommitProbe.PROBE_TABLE})
    engine.dispose()
    assert len(probe.samples) >= 2 and all(ms > 0 for _, ms in probe.samples)
    # a commit that wrote no WAL (or only to a temporary or unlogged table) would not wait
    assert rows == len(probe.samples) and persistence == "p"
