"""The shapes model as a model kind: how the worker loads it and what a job item may be.

Light on purpose (no torch at import): the API reads a kind to check a job's items, and the
registry imports this module through the entry point `shapes = "alpaca.kind:KIND"`.
"""

from __future__ import annotations

from kinds import LoadOptions, ModelKind

from .shipped import DEFAULT_CHECKPOINT

NAME = "shapes"


def load(checkpoint_dir: str | None, options: LoadOptions) -> object:
    """The shapes model from `checkpoint_dir` (None: the shipped default), set up to run the
    inference path and precision of `options`."""
    import alpaca
    from alpaca.engine import EngineOptions, prepare

    model = alpaca.load(checkpoint_dir or None, device=options.device)
    return _servable(prepare(model, EngineOptions(
        path=options.path, channels_last=options.channels_last, compile=options.compile,
        dtype=options.dtype, quantize=options.quantize, threads=options.threads)))


def tiny() -> object:
    """An untrained tiny shapes model (backend tests), on the default inference path."""
    import alpaca

    return _servable(alpaca.prepare(alpaca.tiny_model(seed=0)))


def _servable(model: object) -> object:
    """`model`, naming its kind as kinds.ServableModel asks."""
    model.kind = NAME  # type: ignore[attr-defined]
    return model


def default_checkpoint() -> str:
    """Where the shipped default checkpoint lies."""
    return str(DEFAULT_CHECKPOINT)


def train(*args: object, **kwargs: object) -> object:
    """`alpaca.train`: fine-tunes on (text, image) pairs."""
    import alpaca

    return alpaca.train(*args, **kwargs)


# Fine-tune helpers the worker reaches through KIND.extras (worker/finetune*.py), so that it
# needs no import of alpaca: each imports the model code only when called.


def save(model: object, out_dir: str) -> str:
    """Write `model` as a checkpoint folder; its version."""
    import alpaca

    return alpaca.save(model, out_dir)


def checkpoint_version(checkpoint_dir: str) -> str:
    """The version of the checkpoint in `checkpoint_dir`, from its JSON."""
    import alpaca

    return alpaca.checkpoint_version(checkpoint_dir)


def consistent_pairs(model: object, pairs: list, glossary: dict) -> list:
    """The (caption, image path) pairs whose image `model` reads as the caption says."""
    from alpaca.concepts import consistent_pairs as kept

    return kept(model, pairs, glossary)


def concept_prompts(glossary: dict, n: int, seed: int, categories: tuple[str, ...]) -> list[str]:
    """`n` prompts stating the glossary's meanings in its new words (ValueError if none)."""
    from alpaca.concepts import concept_items

    return [item[0] for item in concept_items(glossary, n, seed, categories=categories)]


def to_known(text: str, glossary: dict) -> str:
    """`text` with the glossary's new words replaced by the known ones."""
    from alpaca.concepts import to_known as known

    return known(text, glossary)


def judge_texts(model: object, prompts: list[str], glossary: dict | None, seed: int,
                rounds: int) -> dict:
    """The pixel judge's scores of `model` on `prompts` (overall, categories, concept checks)."""
    from alpaca.concepts import judge_texts as judge

    return judge(model, prompts, glossary, seed, rounds)


def heldout_prompts(n: int, seed: int) -> list[str]:
    """`n` held-out prompts (attribute pairs never trained on), the same for a given seed."""
    from alpaca.evaluate import heldout_items

    return [item[2] for item in heldout_items(n, seed)]


KIND = ModelKind(
    name=NAME, default_model="default", load=load, tiny=tiny,
    default_checkpoint=default_checkpoint, train=train,
    description="flat shapes at 64x64 from a prompt in English or Chinese",
    extras={"save": save, "checkpoint_version": checkpoint_version,
            "consistent_pairs": consistent_pairs, "concept_prompts": concept_prompts,
            "to_known": to_known, "judge_texts": judge_texts, "heldout_prompts": heldout_prompts},
)
