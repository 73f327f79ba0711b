"""The inference engine: the one multi-round loop, and how it runs, chosen once per model.

    model = alpaca.load(path)                       # a fast engine attached by default
    prepare(model, EngineOptions(path="naive"))     # or another path / precision
    for step in model.generate(prompts, seeds, rounds=3): ...   # one `Step` per round

The loop, per item: round 0 draws a layout with the generator G (seeded by the item's own
`torch.Generator`, so batch composition never changes an item) and paints it; then, each round,
the text decoder D writes the control text of the current image, its `agreement` with the prompt
is measured, and items that do not agree yet are refined by the interactor I; an edit is kept
only where `keep_edit` accepts it. With `early_exit`, an item whose control text agrees
(agreement == 1.0) is done: its image, control text and agreement stay fixed, and the loop stops
as soon as every item is done.

Two paths through the same loop, with the same Step per round:

- "fast": one batch through every module. The prompt is padded only to the batch's longest
  prompt; the layout decoder keeps keys/values across its positions; the image memory the text
  decoder reads an image with is reused by the interactor in the next round; the text decoder
  decodes with a growing KV cache and drops finished captions from the batch; items that exit
  early leave the batch. Optional: channels-last convolutions, `torch.compile` of the modules
  (GPU), bf16/fp16 autocast (GPU), int8 dynamic quantization of the Linear layers (CPU), the
  number of torch threads (on a shared CPU one thread avoids OpenMP's spin-waiting).
- "naive": the same loop with every fast path off, the reference for comparison: one item at a
  time, prompts padded to the model's maximum, no KV cache anywhere (the text decoder re-runs
  the whole caption so far for each new token), the image encoded again by the interactor.

This module knows the model's methods and modules, not tokens beyond the tokenizer's ids, and
nothing of the worker.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from alpaca.domain.checks import agreement
from alpaca.nn.decoding import greedy_cached, greedy_uncached
from alpaca.nn.model import Alpaca, TextFeatures, prompt_lang
from alpaca.nn.vision import Reading
from kinds import Step, check_generate_args

log = logging.getLogger(__name__)

PATHS = ("fast", "naive")
DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16,
          "float16": torch.float16}


@dataclass(frozen=True)
class EngineOptions:
    path: str = "fast"  # "fast" (batched, cached) or "naive" (one item at a time, no cache)
    channels_last: bool = False  # NHWC memory format for the convolutions
    compile: bool = False  # torch.compile the encoders, painter and interactor (for GPUs)
    dtype: str | None = None  # autocast precision "bf16" / "fp16" (for GPUs); None: float32
    quantize: bool = False  # int8 dynamic quantization of every Linear layer (CPU only)
    threads: int = 0  # torch intra-op threads for this process; 0 leaves torch's default

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"engine path must be one of {PATHS}, got {self.path!r}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ValueError(f"engine dtype must be one of {sorted(DTYPES)} or None, "
                             f"got {self.dtype!r}")
        if self.threads < 0:
            raise ValueError(f"engine threads must be >= 0, got {self.threads}")

    @property
    def fast(self) -> bool:
        """Whether the fast paths (batching, KV caches, memory reuse, tight padding) are on."""
        return self.path == "fast"


def keep_edit(old_agreement: float, new_agreement: float) -> bool:
    """Whether an interactor edit replaces the image: only if the new control text agrees with
    the prompt better than the old one did. An edit the model itself does not see as an
    improvement is dropped, so the loop rarely breaks what round 0 got right."""
    return new_agreement > old_agreement


@dataclass
class _Batch:
    """The loop's state for every item of one batch."""

    prompts: Sequence[str]
    langs: list[str]
    prompt: TextFeatures  # encoded once, (B, T, d) and (B, 1, T)
    images: np.ndarray  # uint8 (B, H, W, 3)
    mem: torch.Tensor  # (B, 1 + cells, d) image-encoder memory of the current images
    controls: list[str]
    agree: list[float]
    done: list[bool]

    def step(self, r: int) -> Step:
        return Step(r, self.images.copy(), list(self.controls), list(self.agree), list(self.done))


class Engine:
    """Runs the loop on a model with its options; `prepare` attaches one to a model."""

    def __init__(self, options: EngineOptions | None = None) -> None:
        self.options = options or EngineOptions()

    def generate(self, model: Alpaca, prompts: Sequence[str], seeds: Sequence[int],
                 rounds: int = 3, early_exit: bool = True) -> Iterator[Step]:
        """Yield round 0 .. `rounds` (fewer when every item is done early)."""
        check_generate_args(prompts, seeds, rounds)
        if not prompts:
            return iter(())
        if self.options.fast:
            return self._rounds(model, prompts, seeds, rounds, early_exit)
        return self._one_at_a_time(model, prompts, seeds, rounds, early_exit)

    def _one_at_a_time(self, model: Alpaca, prompts: Sequence[str], seeds: Sequence[int],
                       rounds: int, early_exit: bool) -> Iterator[Step]:
        """Each item alone through every round, then one Step per round (an item that exited
        early repeats its last state, as in a batch)."""
        runs = [list(self._rounds(model, [p], [s], rounds, early_exit))
                for p, s in zip(prompts, seeds, strict=True)]
        for r in range(max(len(run) for run in runs)):
            states = [run[min(r, len(run) - 1)] for run in runs]
            yield Step(r, np.concatenate([s.images for s in states]),
                       [s.control_texts[0] for s in states], [s.agreement[0] for s in states],
                       [s.done[0] for s in states])

    def _rounds(self, model: Alpaca, prompts: Sequence[str], seeds: Sequence[int], rounds: int,
                early_exit: bool) -> Iterator[Step]:
        """The loop on one batch."""
        with _contexts(model):
            batch = self._first_round(model, prompts, seeds, early_exit)
        yield batch.step(0)
        for r in range(1, rounds + 1):
            todo = [i for i, d in enumerate(batch.done) if not d]
            if not todo:
                return
            with _contexts(model):
                self._refine(model, batch, todo, early_exit)
            yield batch.step(r)

    def _first_round(self, model: Alpaca, prompts: Sequence[str], seeds: Sequence[int],
                     early_exit: bool) -> _Batch:
        fast = self.options.fast
        langs = [prompt_lang(p) for p in prompts]
        prompt = model.encode_text(prompts, fixed=not fast)
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        images = model.to_uint8(model.compose(model.first_draft(prompt, generators, cache=fast)))
        reading = read_memory(model, images)
        controls = caption(model, reading, langs, cached=fast)
        agree = [agreement(p, c) for p, c in zip(prompts, controls, strict=True)]
        done = [early_exit and a >= 1.0 for a in agree]
        return _Batch(prompts, langs, prompt, images, reading.mem, controls, agree, done)

    def _refine(self, model: Alpaca, batch: _Batch, todo: list[int], early_exit: bool) -> None:
        """One interactor round on the items in `todo`; an edit replaces an item's image only
        where `keep_edit` accepts it."""
        fast = self.options.fast
        rows = torch.tensor(todo, device=batch.mem.device)
        sub_prompt = tuple(t[rows] for t in batch.prompt)
        mem = batch.mem[rows] if fast else model.vision(model.to_float(batch.images[todo]))
        control = model.encode_text([batch.controls[i] for i in todo], fixed=not fast)
        layout = model.interactor.decide(model.interactor(mem, sub_prompt, control))
        images = model.to_uint8(model.compose(layout))
        reading = read_memory(model, images)
        texts = caption(model, reading, [batch.langs[i] for i in todo], cached=fast)
        for j, (i, text) in enumerate(zip(todo, texts, strict=True)):
            new_agree = agreement(batch.prompts[i], text)
            if keep_edit(batch.agree[i], new_agree):
                batch.images[i], batch.controls[i], batch.agree[i] = images[j], text, new_agree
                batch.mem[i] = reading.mem[j].to(batch.mem.dtype)
            batch.done[i] = early_exit and batch.agree[i] >= 1.0


def prepare(model: Alpaca, options: EngineOptions | None = None) -> Alpaca:
    """Apply `options` to the model (in place) and make `model.generate` run this engine."""
    options = options or EngineOptions()
    if options.threads:
        torch.set_num_threads(options.threads)
    if options.quantize:
        _quantize(model)
    if options.channels_last:
        for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
            conv.to(memory_format=torch.channels_last)
    if options.dtype is not None:
        model.compute_dtype = DTYPES[options.dtype]
    if options.compile:
        for module in (model.vision, model.painter, model.text_encoder, model.interactor):
            module.compile(dynamic=True)
    model.engine = Engine(options)
    log.info("model %s: engine %s", model.version, options)
    return model


def _quantize(model: Alpaca) -> None:
    """int8 dynamic quantization of every Linear layer, in place (CPU only)."""
    if model.device.type != "cpu":
        raise ValueError("int8 dynamic quantization runs on the CPU only")
    with warnings.catch_warnings():  # torch deprecates its quantized tensors for torchao
        warnings.filterwarnings("ignore", r".*quantiz.* deprecated", UserWarning)
        torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8,
                                               inplace=True)


def _contexts(model: Alpaca) -> ExitStack:
    """inference_mode, plus autocast when the model has a compute dtype."""
    stack = ExitStack()
    stack.enter_context(torch.inference_mode())
    dtype = model.compute_dtype
    if dtype is not None:
        stack.enter_context(torch.autocast(model.device.type, dtype=dtype))
    return stack


def read_memory(model: Alpaca, images: np.ndarray) -> Reading:
    """The image encoder's reading of uint8 images (B, H, W, 3): memory (B, 1 + cells, d)
    and facts."""
    return model.vision.read(model.to_float(images))


def caption(model: Alpaca, reading: Reading, langs: Sequence[str], cached: bool = True
            ) -> list[str]:
    """D's control texts from an image reading: greedy, KV-cached (or not), in each item's
    language."""
    tk, mem = model.tokenizer, reading.mem
    prefix = torch.tensor([[tk.bos_id, tk.lang_id(lang)] for lang in langs], device=mem.device)
    decode = greedy_cached if cached else greedy_uncached
    return [tk.decode(ids) for ids in decode(model.text_decoder, mem, prefix,
                                             model.caption_grammar(), reading.facts)]
