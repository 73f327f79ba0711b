"""New concepts for fine-tuning: words the default model has never seen, and how to score them.

A concept is given by a *glossary*: new word -> the known domain word it means, per language,
e.g. the brand colour "ember" = the palette's orange ({"ember": "orange", "余烬色": "橙色"}).
The default model has never read "ember" (its tokenizer spells it letter by letter), so it draws
an arbitrary colour; a fine-tune on pairs that show what "ember" means teaches it.

- `demo_pairs` renders (prompt, image) pairs of the concept from the creative domain: prompts of
  the *train* split that state the meaning, rewritten with the new word (`to_new`), and the
  renders of their scenes, so a demo dataset never contains a held-out (colour, shape) pair;
- `concept_items` draws the concept's evaluation prompts the same way from another seed;
- `judge_texts` generates images for prompts and scores them with the pixel judge, which reads
  the new words through the glossary (`to_known`), because the judge only knows the domain.

This is an extension next to the domain, not a change to it: the domain, the judge and the model
stay as they are. Knows the domain, the judge and the generate loop; not the backend.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from alpaca import domain
from alpaca.domain import judge
from alpaca.domain.checks import agreement
from alpaca.domain.lexicon import COLOUR_WORDS, reverse
from alpaca.evaluate import category_scores, run_loop
from alpaca.nn.model import Alpaca, prompt_lang
from alpaca.training.finetune import as_image

DEMO_GLOSSARY = {"ember": "orange", "余烬色": "橙色"}  # a brand colour: ember = orange
MAX_DRAWS = 500  # domain samples tried per concept item before giving up


def _pattern(word: str) -> re.Pattern:
    """Whole-word match for Latin words; plain substring for CJK (no spaces between words)."""
    if re.fullmatch(r"[A-Za-z][A-Za-z -]*", word):
        return re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(word))


def to_known(text: str, glossary: Mapping[str, str]) -> str:
    """The text with every new word replaced by what it means (what the judge can read)."""
    for new, known in sorted(glossary.items(), key=lambda kv: -len(kv[0])):
        text = _pattern(new).sub(known, text)
    return text


def to_new(text: str, glossary: Mapping[str, str]) -> str | None:
    """The text with the known words replaced by the new ones; None if none of them occurs."""
    out = text
    for new, known in sorted(glossary.items(), key=lambda kv: -len(kv[1])):
        out = _pattern(known).sub(new, out)
    return out if out != text else None


def concept_items(glossary: Mapping[str, str], n: int, seed: int, split: str = "train",
                  categories: Sequence[str] | None = None) -> list[tuple[str, str, str, object]]:
    """n (new-word prompt, known-word prompt, category, scene) items of the concept, drawn from
    `categories` in turn (default: any category of the split)."""
    rng, items = random.Random(seed), []
    for _ in range(n * MAX_DRAWS):
        if len(items) == n:
            return items
        category = categories[len(items) % len(categories)] if categories else None
        spec, scene, prompt, _lang = domain.sample(rng, split, category=category)
        new = to_new(prompt, glossary)
        if new is not None:
            items.append((new, prompt, spec.category, scene))
    raise ValueError(f"the glossary {dict(glossary)} names nothing the domain's prompts say")


def demo_pairs(glossary: Mapping[str, str], n: int, seed: int = 0,
               image_size: int = 64) -> list[tuple[str, np.ndarray]]:
    """n (prompt with the new word, rendered image) pairs from the domain's train split."""
    return [(new, domain.render(scene, image_size))
            for new, _known, _cat, scene in concept_items(glossary, n, seed)]


def consistent_pairs(model: Alpaca, pairs: Sequence[tuple[str, object]],
                     glossary: Mapping[str, str], batch_size: int = 64) -> list[tuple[str, object]]:
    """The pairs whose image the model reads as their caption says, once the caption's new words
    are put in known words; captions without new words, or that the parser cannot read even in
    known words, are kept unchecked (training reads those from the caption itself).

    A caption with new words gives the model nothing to check the image against, so training
    takes what the image shows from the model's own reading of it; a misread image (a missed
    object, a wrong count) would teach the wrong thing, and these pairs are left out instead.
    """

    keep = []
    for lo in range(0, len(pairs), batch_size):
        chunk = pairs[lo:lo + batch_size]
        images = np.stack([as_image(image, model.cfg.image_size) for _, image in chunk])
        with torch.inference_mode():
            readings = model.read(images, [prompt_lang(str(text)) for text, _ in chunk])
        for (text, image), reading in zip(chunk, readings, strict=True):
            known = to_known(str(text), glossary)
            if known == str(text) or not _readable(known) or agreement(known, reading) >= 1.0:
                keep.append((text, image))
    return keep


def concept_colours(glossary: Mapping[str, str] | None) -> set[str]:
    """The palette colours the glossary's new words stand for ({"ember": "orange"} -> orange)."""

    words = {**reverse(COLOUR_WORDS, "en"), **reverse(COLOUR_WORDS, "zh")}
    return {words[m] for m in (glossary or {}).values() if m in words}


def concept_checks(verdict: dict, text: str, colours: set[str]) -> list[bool]:
    """The judge's verdicts on what the new words stated: each object (and background) whose
    colour is one the glossary names, as `alpaca.checks` names those constraints."""
    spec = domain.parse(text)
    ok = {c["name"]: bool(c["ok"]) for c in verdict["constraints"]}
    out = [ok[f"object {i}"] for i, obj in enumerate(spec.objects) if obj.colour in colours]
    if {spec.background, spec.gradient} & colours:
        out.append(ok["background"])
    return out


def judge_texts(model: Alpaca, prompts: Sequence[str], glossary: Mapping[str, str] | None,
                seed: int = 0, rounds: int = 0, batch_size: int = 64) -> dict:
    """Generate every prompt (seed + i) and score the final image with the judge.

    Returns {"overall" (mean of the category pass rates, as GenEval), "pass_rate",
    "concept_checks" (pass rate of the constraints on what the glossary's words stated, or
    None), "n", "categories"}; prompts the judge cannot read even through the glossary are
    skipped and not counted.
    """
    known = [to_known(p, glossary or {}) for p in prompts]
    readable = [i for i, k in enumerate(known) if _readable(k)]
    if not readable:
        return {"overall": None, "pass_rate": None, "concept_checks": None, "n": 0,
                "categories": {}}
    texts = [prompts[i] for i in readable]
    seeds = [seed * 100_003 + i for i in readable]
    images, _, wall = run_loop(model, texts, seeds, rounds, batch_size)
    verdicts = [judge.score(images[j][-1], known[i]) for j, i in enumerate(readable)]
    passes = [bool(v["pass"]) for v in verdicts]
    scores = category_scores(passes, [v["category"] for v in verdicts])
    colours = concept_colours(glossary)
    checks = [ok for v, i in zip(verdicts, readable)
              for ok in concept_checks(v, known[i], colours)] if colours else []
    return {"overall": scores.pop("overall"), "pass_rate": float(np.mean(passes)),
            "concept_checks": float(np.mean(checks)) if checks else None,
            "n": len(readable), "categories": scores, "rounds": rounds, "wall_s": wall}


def _readable(text: str) -> bool:
    try:
        domain.parse(text)
    except ValueError:
        return False
    return True
