"""The ads domain's shared vocabulary: what a brief asks for, what a design is, what copy is.

Plain frozen dataclasses with JSON round-trips and no behaviour beyond validation. Every other
module of `alpaca_ads` (the brief designer, the renderer, the networks, the judge) speaks in
these types; none of them is imported here. No torch, no Pillow.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = ("en", "zh")

# The ad formats a job may ask for: name -> (width, height) in pixels (docs/ads.md has the sources).
SIZES: dict[str, tuple[int, int]] = {
    "300x250": (300, 250),    # IAB medium rectangle
    "728x90": (728, 90),      # IAB leaderboard
    "160x600": (160, 600),    # IAB wide skyscraper
    "320x50": (320, 50),      # IAB mobile banner: one line of text at most
    "300x600": (300, 600),    # IAB half page
    "1080x1080": (1080, 1080),  # square social
    "1200x628": (1200, 628),  # link / landscape (1.91:1)
}

# Offer kinds. `value` means, per kind: percent_off -> percent (1..99, "30% off" = 七折 = 30);
# amount_off -> money off (with `threshold`: "满100减20" = 20 off orders over 100);
# bogo, free_shipping, second_half_price, first_order_free -> no value.
OFFER_KINDS: tuple[str, ...] = (
    "percent_off", "amount_off", "bogo", "free_shipping", "second_half_price", "none",
)
ELEMENT_ROLES: tuple[str, ...] = ("headline", "subline", "cta", "icon", "decoration")
HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def parse_size(size: str) -> tuple[int, int]:
    """(width, height) of a supported format; ValueError naming the supported ones otherwise."""
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {', '.join(SIZES)}")
    return SIZES[size]


def check_colour(colour: str) -> str:
    """A '#RRGGBB' colour, upper-cased; ValueError otherwise."""
    if not isinstance(colour, str) or not HEX_COLOUR.match(colour):
        raise ValueError(f"colour {colour!r} is not of the form #RRGGBB")
    return colour.upper()


@dataclass(frozen=True)
class Offer:
    """An offer in canonical form, the same whatever language the brief said it in."""

    kind: str = "none"  # one of OFFER_KINDS
    value: int | None = None  # percent or amount, see OFFER_KINDS
    threshold: int | None = None  # amount_off: minimum order
    up_to: bool = False  # "up to 60% off" / "低至四折"

    def __post_init__(self) -> None:
        if self.kind not in OFFER_KINDS:
            raise ValueError(f"offer kind {self.kind!r} is not one of {OFFER_KINDS}")
        if self.kind == "percent_off" and not (self.value and 1 <= self.value <= 99):
            raise ValueError(f"percent_off needs a value in 1..99, got {self.value!r}")
        if self.kind == "amount_off" and not (self.value and self.value > 0):
            raise ValueError(f"amount_off needs a positive value, got {self.value!r}")


@dataclass(frozen=True)
class BriefSpec:
    """What a brief asks for, as the designer meant it (ground truth for training and judging)."""

    product: str  # catalog key of the product, e.g. "running_shoes"
    product_text: str  # the product as the brief words it, e.g. "running shoes" / "跑鞋"
    offer: Offer
    language: Language
    size: str  # a key of SIZES
    brand_colors: tuple[str, ...] = ()  # '#RRGGBB'
    tone: str = "neutral"  # e.g. bold, minimal, playful, elegant, urgent, neutral
    event: str | None = None  # e.g. "summer sale", "双十一"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BriefSpec:
        data = dict(data)
        data["offer"] = Offer(**data["offer"])
        data["brand_colors"] = tuple(data.get("brand_colors", ()))
        return cls(**data)


@dataclass(frozen=True)
class Copy:
    """The ad's text, in the brief's language."""

    headline: str
    subline: str
    cta: str
    language: Language = "en"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Element:
    """One element of a design. Boxes are pixels of the final banner: (x0, y0, x1, y1)."""

    role: str  # one of ELEMENT_ROLES
    box: tuple[int, int, int, int]
    colour: str  # '#RRGGBB': text colour, button fill, icon fill or decoration colour
    text: str | None = None  # headline / subline / cta
    font_size: int | None = None  # pixels
    weight: Literal["regular", "bold"] | None = None
    background: str | None = None  # the cta button's label colour sits on this fill
    icon: str | None = None  # icon slug, e.g. "shoe-sneaker"
    shape: str | None = None  # decoration: "circle", "bar", "dots", ...
    # Text only: how each line sits in the box, "left" or "center" (None = "center"). A text's
    # lines are the designer's, joined by '\n' (a space in English, nothing in Chinese).
    align: Literal["left", "center"] | None = None


@dataclass(frozen=True)
class Design:
    """A whole banner: size, background and elements. The renderer draws exactly this."""

    size: str
    background: tuple[str, ...]  # one colour (flat) or two (gradient), '#RRGGBB'
    background_style: str = "flat"  # flat, vertical_gradient, diagonal_gradient, pattern, ...
    elements: tuple[Element, ...] = field(default_factory=tuple)

    def element(self, role: str) -> Element | None:
        return next((e for e in self.elements if e.role == role), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Design:
        elements = tuple(Element(**{**e, "box": tuple(e["box"])}) for e in data["elements"])
        return cls(size=data["size"], background=tuple(data["background"]),
                   background_style=data.get("background_style", "flat"), elements=elements)
