"""What a fine-tune learned and what it forgot: the pixel judge before and after, same prompts.

- the new concept: with a glossary, `finetune_eval_n` prompts of the domain's train split that
  state the glossary's meanings, rewritten with the new words (alpaca.concepts), from the
  categories about one kind of object (colours, counting, style, position), so the figure
  measures the word rather than the base model's skill at composing several objects, which
  the held-out set measures; without a glossary, the dataset's own captions (those the judge
  can read);
- the held-out set: `finetune_eval_n` held-out prompts (attribute pairs never trained on), the
  same for every model, so "before -> after" shows forgetting.
Before training, the base model is also judged on the concept prompts written with the known
words ("ember" -> "orange"): the ceiling the new words can reach with this base model.
Each figure is the judge's overall score (mean of its category pass rates, as GenEval) on the
final image after `finetune_eval_rounds` interactor rounds; fixed seeds, so the comparison is
paired. The pulse is checked between sets, so a cancel does not wait for the whole evaluation.
"""

from __future__ import annotations

import logging
from typing import Any

from worker.finetune_plan import Plan, kind_tool
from worker.pulse import Pulse

log = logging.getLogger(__name__)

CONCEPT_SEED = 7_000_001  # the concept prompts' sampling and generation seed
CONCEPT_CATEGORIES = ("colours", "counting", "style", "position")  # one kind of object
HELDOUT_SEED = 12_345  # the held-out prompts' sampling and generation seed


def concept_prompts(plan: Plan, n: int) -> tuple[list[str], str]:
    """(prompts, where they came from) for the concept evaluation."""
    if plan.glossary:
        try:
            prompts = kind_tool(plan.kind, "concept_prompts")(plan.glossary, n, CONCEPT_SEED,
                                                              CONCEPT_CATEGORIES)
            return prompts, "glossary"
        except ValueError as exc:
            log.warning("job %s: %s; judging the dataset's captions instead", plan.job_id, exc)
    return [caption for caption, _path in plan.pairs[:n]], "dataset captions"


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("overall", "pass_rate", "concept_checks", "n", "wall_s")
    out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items() if k in keep}
    out["categories"] = {k: round(v, 4) for k, v in (result.get("categories") or {}).items()}
    return out


def evaluate(model: Any, plan: Plan, settings: Any, pulse: Pulse, *, known: bool) -> dict:
    """The judge's scores of `model` on the concept and held-out prompts (and, if `known`, on
    the concept prompts in known words)."""
    judge_texts, to_known = (kind_tool(plan.kind, name) for name in ("judge_texts", "to_known"))
    n, rounds = settings.finetune_eval_n, settings.finetune_eval_rounds
    prompts, source = concept_prompts(plan, n)
    out: dict[str, Any] = {"rounds": rounds, "concept_source": source}
    out["concept"] = _summary(judge_texts(model, prompts, plan.glossary, CONCEPT_SEED, rounds))
    pulse.check()
    if known and plan.glossary and source == "glossary":
        words = [to_known(p, plan.glossary) for p in prompts]
        out["concept_known"] = _summary(judge_texts(model, words, plan.glossary, CONCEPT_SEED,
                                                    rounds))
        pulse.check()
    heldout = kind_tool(plan.kind, "heldout_prompts")(n, HELDOUT_SEED)
    out["heldout"] = _summary(judge_texts(model, heldout, None, HELDOUT_SEED, rounds))
    pulse.check()
    log.info("job %s attempt %d: judged %s: concept %s, held-out %s (n=%d, %d rounds)",
             plan.job_id, plan.attempt, "base" if known else "fine-tuned",
             out["concept"].get("overall"), out["heldout"].get("overall"), n, rounds)
    return out
