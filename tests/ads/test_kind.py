"""The ads kind's item checks: what an ads job may hold, with errors naming the field."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import kinds
from alpaca_ads.kind import KIND, check_item


def test_ads_kind_is_registered_with_its_default_model() -> None:
    assert kinds.get_kind("ads") is KIND
    assert kinds.kind_of_default_model("ads") is KIND


def test_plain_brief_is_stored_as_its_text() -> None:
    assert check_item("  Summer sale on running shoes, 30% off, 300x250 ") == (
        "Summer sale on running shoes, 30% off, 300x250")


def test_structured_item_is_stored_as_canonical_json_with_colours_upper_cased() -> None:
    stored = check_item({"size": "728x90", "brief": "耳机五折", "brand_colors": ["#0a2540"],
                         "language": "zh", "headline": None, "cta": None})
    assert json.loads(stored) == {"brief": "耳机五折", "size": "728x90",
                                  "brand_colors": ["#0A2540"], "language": "zh"}


@pytest.mark.parametrize(("item", "field"), [
    ({"brief": "shoes", "size": "999x17"}, "size"),
    ({"brief": "shoes", "brand_colors": ["#FF66"]}, "brand_colors[0]"),
    ({"brief": "shoes", "brand_colors": "#FF6600"}, "brand_colors"),
    ({"brief": "shoes", "language": "fr"}, "language"),
    ({"brief": "shoes", "headline": "x" * 91}, "headline"),
    ({"brief": "  "}, "brief"),
    ({"size": "300x250"}, "brief"),
    ({"brief": "shoes", "colour": "red"}, "colour"),
])
def test_malformed_item_names_its_field(item: dict, field: str) -> None:
    with pytest.raises(kinds.ItemProblem) as caught:
        check_item(item)
    assert caught.value.field == field


def test_reading_the_kind_does_not_load_torch() -> None:
    code = "import sys, kinds; kinds.get_kind('ads'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_runs_torch_on_the_threads_the_worker_asks_for() -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = KIND.load(None, kinds.LoadOptions(threads=1))
        assert model.kind == "ads" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
