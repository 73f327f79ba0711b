"""The ads evaluation: balanced held-out briefs, the loop's fix/break arithmetic, the command
line."""

from __future__ import annotations

import importlib
import json
from collections import Counter

import pytest

from alpaca_ads import evaluate
from alpaca_ads.domain.spec import SIZES, Copy
from alpaca_ads.judge import BriefTruth, Check, Verdict
from alpaca_ads.kind import KIND

TRUTH = BriefTruth("300x250", "en")


def _verdict(passed: bool) -> Verdict:
    return Verdict({"size": Check(True, "ok"), "offer": Check(passed, "x"),
                    "product": Check(True, "ok"), "headline_readback": Check(passed, "x")})


def _outcome(first: bool, final: bool, agreement0: float = 0.5) -> evaluate.Outcome:
    return evaluate.Outcome(evaluate.Case("brief", TRUTH), copy=Copy("H", "S", "Go", "en"),
                            first=_verdict(first), final=_verdict(final), agreement0=agreement0)


def test_held_out_cases_are_half_chinese_and_cover_every_size() -> None:
    cases = evaluate.held_out_cases(28)
    assert Counter(c.truth.language for c in cases) == {"en": 14, "zh": 14}
    assert Counter(c.truth.size for c in cases) == {size: 4 for size in SIZES}
    assert all(c.truth.product_words and c.text for c in cases)


def test_unseen_limit_takes_half_of_each_language() -> None:
    cases = evaluate.unseen_cases(limit=6)
    assert Counter(c.truth.language for c in cases) == {"en": 3, "zh": 3}


def test_loop_figures_count_fixes_of_round0_failures_and_breaks_of_passes() -> None:
    refused = evaluate.Outcome(evaluate.Case("zzz", TRUTH), refusal=("brief_not_understood", "x"))
    outcomes = [_outcome(False, True), _outcome(False, False, 1.0), _outcome(True, False),
                _outcome(True, True), _outcome(True, True), refused]
    loop = evaluate.loop_figures(outcomes)
    assert (loop["judged"], loop["refused"]) == (5, 1)
    assert (loop["fixed"], loop["round0_failures"], loop["fix_rate"]) == (1, 2, 0.5)
    assert (loop["broken"], loop["round0_passes"]) == (1, 3)
    assert loop["round0_failures_reader_saw_none"] == 1
    assert loop["pass_all_round0"] == 0.6 and loop["pass_all_final"] == 0.6


def test_check_rates_group_each_check_and_pass_all() -> None:
    rates = evaluate.check_rates([_outcome(True, True), _outcome(True, False)],
                                 lambda o: o.case.truth.size)
    assert rates == {"300x250": {"size": 1.0, "offer": 0.5, "product": 1.0,
                                 "headline_readback": 0.5, "pass_all": 0.5}}


def test_limits_follow_the_ad_formats_per_language() -> None:
    assert evaluate.limits_kept(Copy("x" * 30, "s", "Shop now", "en"))
    assert not evaluate.limits_kept(Copy("x" * 31, "s", "Shop now", "en"))
    assert not evaluate.limits_kept(Copy("跑" * 15, "轻盈", "抢购", "zh"))


def test_refusals_count_only_brief_not_understood() -> None:
    figures = evaluate.refusal_figures([("gibberish", "brief_not_understood"),
                                        ("gibberish", None), ("no_product", "other_code")])
    assert figures["refused_gibberish"] == 0.5 and figures["refused_no_product"] == 0.0


def test_kind_registers_the_evaluation_entry_point() -> None:
    module, name = KIND.extras["evaluate"].split(":")
    assert getattr(importlib.import_module(module), name) is evaluate.main


def test_command_line_rejects_a_non_positive_count() -> None:
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--n", "0"])
    assert exc.value.code == 2


def test_command_line_prints_every_size_and_writes_the_figures(tmp_path, capsys) -> None:
    out = tmp_path / "figures.json"
    assert evaluate.main(["--n", "14", "--distinct-n", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert list(figures["checks_by_size"]) == list(SIZES)
    assert 0.0 <= figures["loop"]["pass_all_final"] <= 1.0
    assert figures["refusals"]["briefs"] == 64
    assert set(figures["headline_readback"]) == {"en", "zh"}
    printed = capsys.readouterr().out
    assert "Acceptance (issue 13)" in printed and "1200x628" in printed


def test_handwritten_unseen_briefs_cover_both_languages_every_size_and_name_their_product() -> None:
    cases = evaluate.unseen_cases(evaluate.HANDWRITTEN)
    assert len(cases) >= 150
    assert Counter(c.truth.language for c in cases)["zh"] == len(cases) // 2
    assert {c.truth.size for c in cases} == set(SIZES)
    assert all(any(w.lower() in c.text.lower() for w in c.truth.product_words) for c in cases)
