"""The model's configuration: one frozen dataclass, saved as JSON beside the weights.

It holds every size the networks are built from, plus the attribute vocabularies the layout heads
predict over (shape, colour, size and style names, the palette's RGB values). Nothing here is
read from the environment, and nothing here knows about training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlpacaConfig:
    name: str = "alpaca-default"  # human-readable model name, stored in the checkpoint JSON
    image_size: int = 64  # generated images are (image_size, image_size, 3) uint8
    grid: int = 3  # the layout grid: grid x grid cells, at most one object per cell
    max_objects: int = 6  # object slots in the generator's layout decoder
    shapes: tuple[str, ...] = ()  # shape names, the index order of the shape heads
    colours: tuple[str, ...] = ()  # colour names, the index order of the colour heads
    palette: tuple[tuple[int, int, int], ...] = ()  # RGB of each colour, aligned with `colours`
    sizes: tuple[str, ...] = ()  # size names ("small", "medium", "large")
    styles: tuple[str, ...] = ()  # style names ("solid", "outline", "striped")
    vocab_size: int = 0  # tokenizer vocabulary size (the tied embedding's rows)
    d_model: int = 128  # width of every transformer and of the slot/cell vectors
    n_heads: int = 4  # attention heads in every transformer
    enc_layers: int = 2  # text encoder blocks
    dec_layers: int = 2  # text decoder (captioner) blocks
    layout_layers: int = 2  # generator layout-decoder blocks
    inter_layers: int = 2  # interactor blocks
    max_prompt_len: int = 144  # prompt/control-text tokens seen by the encoder (longer is cut)
    max_caption_len: int = 144  # tokens the captioner may write, language tag and EOS included
    cnn_channels: int = 24  # width of the image encoder's edge CNN
    sprite_size: int = 20  # side of the painter's sprite canvas, px (>= largest object + 2)
    painter_channels: int = 32  # width of the sprite painter's conv stack
    colour_temperature: float = 0.002  # softness of the image encoder's palette assignment
    sample_temperature: float = 0.2  # layout sampling temperature at inference (seeds vary
    # what the prompt leaves open; stated attributes stay sharp)
    extra: dict = field(default_factory=dict, hash=False, compare=False)  # free-form notes

    @property
    def n_cells(self) -> int:
        return self.grid * self.grid

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AlpacaConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        tuples = {"shapes", "colours", "sizes", "styles"}
        values = {k: tuple(v) if k in tuples else v for k, v in data.items()}
        if "palette" in values:
            values["palette"] = tuple(tuple(int(c) for c in rgb) for rgb in values["palette"])
        return cls(**values)
