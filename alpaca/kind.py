"""The shapes model as a model kind: how the worker loads it and what a job item may be.

Light on purpose (no torch at import): the API reads a kind to check a job's items, and the
registry imports this module through the entry point `shapes = "alpaca.kind:KIND"`.
"""

from __future__ import annotations

from kinds import LoadOptions, ModelKind

from .shipped import DEFAULT_CHECKPOINT


def load(checkpoint_dir: str | None, options: LoadOptions) -> object:
    """The shapes model from `checkpoint_dir` (None: the shipped default), set up to run the
    inference path and precision of `options`."""
    import alpaca
    from alpaca.engine import EngineOptions, prepare

    model = alpaca.load(checkpoint_dir or None, device=options.device)
    return prepare(model, EngineOptions(
        path=options.path, channels_last=options.channels_last, compile=options.compile,
        dtype=options.dtype, quantize=options.quantize, threads=options.threads))


def tiny() -> object:
    """An untrained tiny shapes model (backend tests)."""
    import alpaca

    return alpaca.tiny_model(seed=0)


def default_checkpoint() -> str:
    """Where the shipped default checkpoint lies."""
    return str(DEFAULT_CHECKPOINT)


def train(*args: object, **kwargs: object) -> object:
    """`alpaca.train`: fine-tunes on (text, image) pairs."""
    import alpaca

    return alpaca.train(*args, **kwargs)


KIND = ModelKind(
    name="shapes", default_model="default", load=load, tiny=tiny,
    default_checkpoint=default_checkpoint, train=train,
    description="flat shapes at 64x64 from a prompt in English or Chinese",
)
