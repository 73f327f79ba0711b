"""Evaluation on a small N: the report's figures exist, are consistent, and the CLI prints them."""

from __future__ import annotations

import json

import pytest

import alpaca
from alpaca import domain
from alpaca.evaluate import (
    captioner_accuracy, category_scores, determinism, heldout_items, judge_rounds, main,
)


@pytest.fixture(scope="module")
def model():
    return alpaca.tiny_model(seed=0)


def test_heldout_items_state_a_heldout_pair():
    items = heldout_items(20, seed=0)
    assert all(domain.is_heldout(spec) for spec, *_ in items)


def test_overall_is_the_mean_of_category_scores():
    scores = category_scores([True, False, True, True], ["a", "a", "b", "b"])
    assert scores == {"a": 0.5, "b": 1.0, "overall": 0.75}


def test_judge_rounds_reports_round_zero_final_and_loop_rates(model):
    report = judge_rounds(model, n=6, seed=0, rounds=2, batch_size=4)
    assert len(report["per_round_overall"]) == 3
    assert 0.0 <= report["overall_round0"] <= 1.0 and 0.0 <= report["overall_final"] <= 1.0
    assert report["round0_failures"] + report["round0_passes"] == 6
    assert 0.0 <= report["fix_rate"] <= 1.0 and 0.0 <= report["regression_rate"] <= 1.0
    assert report["images_per_s"] > 0 and set(report["per_language"]) <= {"en", "zh"}


def test_captioner_accuracy_is_reported_per_language(model):
    acc = captioner_accuracy(model, n=3, seed=1)
    assert set(acc) == {"en", "zh"} and all(0.0 <= v <= 1.0 for v in acc.values())


def test_cli_prints_the_table_and_writes_json(model, tmp_path, capsys):
    alpaca.save(model, tmp_path / "ckpt")
    out = tmp_path / "report.json"
    assert main(["--checkpoint", str(tmp_path / "ckpt"), "--n", "4", "--rounds", "1",
                 "--determinism", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| overall |" in printed and "captioner exact accuracy" in printed
    assert "byte-identical PNGs for 2/2" in printed
    assert json.loads(out.read_text())["n"] == 4


def test_two_loads_of_one_checkpoint_give_byte_identical_pngs(model, tmp_path):
    alpaca.save(model, tmp_path / "ckpt")
    result = determinism(lambda: alpaca.load(tmp_path / "ckpt"), n=4, rounds=1)
    assert result["identical"] == 4 and result["different"] > 0


def test_determinism_tells_two_different_models_apart():
    loads = iter([alpaca.tiny_model(seed=0), alpaca.tiny_model(seed=1), alpaca.tiny_model(seed=0)])
    assert determinism(lambda: next(loads), n=4, rounds=1)["identical"] < 4


CALLS: list[list[str]] = []


def record_evaluation(argv: list[str]) -> int:
    """A stand-in for another kind's evaluation, named "module:function" in its extras."""
    CALLS.append(argv)
    return 7


def other_kinds(monkeypatch, evaluate) -> None:  # noqa: ANN001
    """The registry, with a "posters" kind (default model "poster-v1") added."""
    from kinds import ModelKind, registry

    known = dict(registry.kinds())
    known["posters"] = ModelKind(name="posters", default_model="poster-v1", load=lambda *a: None,
                                 extras={} if evaluate is None else {"evaluate": evaluate})
    monkeypatch.setattr(registry, "kinds", lambda: known)


@pytest.mark.parametrize("model_name", ["posters", "poster-v1"])
def test_model_of_another_kind_runs_that_kinds_evaluation_with_the_other_arguments(
        monkeypatch, model_name):
    other_kinds(monkeypatch, "tests.test_evaluate:record_evaluation")
    CALLS.clear()
    assert main(["--n", "5", "--model", model_name, "--rounds", "1"]) == 7
    assert CALLS == [["--n", "5", "--rounds", "1"]]


def test_a_callable_evaluation_is_called_with_argv(monkeypatch):
    seen = []
    other_kinds(monkeypatch, lambda argv: seen.append(argv))
    assert main(["--model=posters", "--json", "x.json"]) == 0 and seen == [["--json", "x.json"]]


@pytest.mark.parametrize("model_name, message", [("nonesuch", "no model kind 'nonesuch'"),
                                                  ("posters", "registers no evaluation")])
def test_a_model_without_an_evaluation_is_refused_with_a_clear_message(monkeypatch, model_name,
                                                                       message):
    other_kinds(monkeypatch, None)
    with pytest.raises(SystemExit, match=message):
        main(["--model", model_name])


@pytest.mark.parametrize("model_name", ["shapes", "default"])
def test_the_shapes_kind_is_evaluated_here(model_name):
    from alpaca.evaluate import other_kind_evaluation

    assert other_kind_evaluation(model_name) is None
