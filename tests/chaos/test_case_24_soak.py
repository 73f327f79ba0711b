"""Case 24: the soak, short: load through the API with random worker kills, one Redis restart and
one PostgreSQL restart, then every invariant.

The same code as `make chaos` (bench/chaos.py), scaled to fit the test suite: 600 items over 6
jobs and 3 tenants, two workers, four kills 2-4 s apart. `make chaos` runs the full 10,000 items.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench.chaos import Soak, soak_once

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos


def test_a_short_soak_with_kills_and_restarts_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    soak = Soak(items=600, jobs=6, tenants=3, workers=2, item_seconds=0.01, kill_every=(2.0, 4.0),
                max_kills=4, deadline=240)
    figures, report = soak_once(soak, tmp_path / "soak")
    log.info("case 24: %s; events %s", figures, soak.events)
    assert report.ok, report.problems()
    assert (figures["items submitted"], figures["items finished"]) == (600, 600)
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert figures["jobs"] == {"succeeded": 6}
    assert figures["http 5xx other than 503"] == 0
    assert (figures["redis restarts"], figures["postgres restarts"]) == (1, 1)
    assert figures["worker kills"] >= 1
