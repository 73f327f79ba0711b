"""The network configuration and the label vocabularies the heads classify into.

The vocabularies are part of the config (saved in the checkpoint JSON), so a checkpoint keeps
the labels it was trained with even if the domain later grows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from alpaca_ads.domain.spec import SIZES

# Per-character BIO tags over the brief: product, offer, brand colour, size spans.
SPANS: tuple[str, ...] = ("product", "offer", "colour", "size")
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{s}" for s in SPANS for p in ("B", "I"))
SIZE_CLASSES: tuple[str, ...] = tuple(SIZES) + ("unknown",)
ROLES: tuple[str, ...] = ("headline", "subline", "cta", "icon")  # checked by the reader
DECORATIONS: tuple[str, ...] = ("bar", "circle", "dots")  # decoration shapes, one slot each
SLOTS: tuple[str, ...] = ROLES + DECORATIONS  # what the layout net places
ISSUES: tuple[str, ...] = ("overflow", "low_contrast", "overlap", "outside_margin", "too_small")


@dataclass(frozen=True)
class AdsConfig:
    """Sizes of every network and the labels of every head."""

    d_model: int = 64  # width of the text encoder and decoder
    enc_layers: int = 3  # text encoder transformer layers
    dec_layers: int = 2  # text decoder layers (copy and control text share them)
    heads: int = 4  # attention heads
    max_brief: int = 160  # characters of a brief the encoder reads (longer is cut)
    max_text: int = 64  # tokens of a copy or control text the decoder writes
    d_layout: int = 96  # width of the layout generator / interactor
    layout_layers: int = 3  # transformer layers of the layout generator / interactor
    noise_dim: int = 8  # seed noise fed to the layout generator
    palette_k: int = 24  # palette candidates the colour heads choose among
    paint_res: int = 24  # the painter's background resolution (square, upsampled by render)
    d_icon: int = 96  # width of the icon-match space
    icon_buckets: int = 8192  # hashed character n-gram buckets of the icon matcher
    reader_res: int = 96  # the reader's view of the whole banner (square)
    crop_res: int = 32  # the reader's view of each element's box
    d_reader: int = 96  # reader feature width
    tones: tuple[str, ...] = ("neutral", "bold", "minimal", "playful", "elegant", "urgent")
    bg_styles: tuple[str, ...] = ("flat", "vertical_gradient", "diagonal_gradient", "pattern")
    colour_names: tuple[str, ...] = ("navy", "orange", "white", "black")  # named brand colours
    colour_hexes: tuple[str, ...] = ("#0A2540", "#FF6600", "#FFFFFF", "#111111")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdsConfig:
        names = {f.name for f in fields(cls)}
        clean = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
        return cls(**clean)


def domain_config(**overrides: Any) -> AdsConfig:
    """The default config with the label lists of the installed domain catalog."""
    from alpaca_ads.domain import catalog

    labels = {"tones": tuple(catalog.TONE_KEYS),
              "colour_names": tuple(c.key for c in catalog.COLOURS),
              "colour_hexes": tuple(c.hex for c in catalog.COLOURS)}
    return AdsConfig(**{**labels, **overrides})


def tiny_config() -> AdsConfig:
    """A very small configuration for fast backend tests (untrained)."""
    return domain_config(d_model=32, enc_layers=1, dec_layers=1, heads=2, d_layout=32,
                     layout_layers=1, d_icon=32, icon_buckets=512, d_reader=32, reader_res=48,
                     crop_res=16)
