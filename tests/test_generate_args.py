"""Both model families refuse a batch they cannot run with the seam's one check
(kinds.check_generate_args), so the worker sees the same ValueError whichever family it serves."""

from __future__ import annotations

import pytest

import alpaca
import alpaca_ads
from kinds import check_generate_args


@pytest.mark.parametrize(("prompts", "seeds", "rounds", "why"), [
    (["a", "b"], [1], 1, "2 items but 1 seeds"),
    (["a"], [1], -1, "rounds must be >= 0"),
    ([{"brief": "x"}], [1], 1, "must be strings"),
])
def test_the_check_names_what_is_wrong(prompts, seeds, rounds, why) -> None:
    with pytest.raises(ValueError, match=why):
        check_generate_args(prompts, seeds, rounds)


@pytest.mark.parametrize("family", [alpaca, alpaca_ads], ids=["shapes", "ads"])
def test_each_family_refuses_a_batch_with_a_seed_missing(family) -> None:
    model = family.tiny_model(seed=0)
    if family is alpaca:
        model = alpaca.prepare(model)
    with pytest.raises(ValueError, match="2 items but 1 seeds"):
        next(iter(model.generate(["a red circle", "a blue square"], [1], rounds=1)))
