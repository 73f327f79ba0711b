"""The judge's inputs and outputs: what the brief asked (`BriefTruth`) and the `Verdict` per check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from alpaca_ads.domain.spec import LANGUAGES, SIZES, BriefSpec, Offer, check_colour


@dataclass(frozen=True)
class BriefTruth:
    """What the brief asked for, as the judge needs it (never the design the model wrote)."""

    size: str  # a key of spec.SIZES
    language: str  # "en" or "zh"
    offer: Offer = field(default_factory=Offer)
    product_words: tuple[str, ...] = ()  # acceptable names of the product, any one will do
    brand_colors: tuple[str, ...] = ()  # '#RRGGBB'; empty: the brief named none

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size {self.size!r} is not one of {', '.join(SIZES)}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r} is not one of {LANGUAGES}")
        object.__setattr__(self, "brand_colors", tuple(check_colour(c) for c in self.brand_colors))
        object.__setattr__(self, "product_words", tuple(self.product_words))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BriefTruth:
        """From a dict shaped like a line of data/unseen_briefs.jsonl (extra keys ignored)."""
        offer = data.get("offer") or {}
        offer = offer if isinstance(offer, Offer) else Offer(
            kind=offer.get("kind", "none"), value=offer.get("value"),
            threshold=offer.get("threshold"), up_to=bool(offer.get("up_to", False)))
        return cls(size=data["size"], language=data["language"], offer=offer,
                   product_words=tuple(data.get("product_words", ())),
                   brand_colors=tuple(data.get("brand_colors", ())))

    @classmethod
    def from_spec(cls, spec: BriefSpec, product_words: tuple[str, ...] = ()) -> BriefTruth:
        """From the brief designer's ground truth; the product's own wording is always accepted."""
        words = (spec.product_text, *[w for w in product_words if w != spec.product_text])
        return cls(size=spec.size, language=spec.language, offer=spec.offer,
                   product_words=words, brand_colors=spec.brand_colors)


@dataclass(frozen=True)
class Check:
    """One check's outcome and a reason a person can act on."""

    passed: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Every check by name; `passed` only when all of them passed."""

    checks: dict[str, Check]
    seconds: float = 0.0  # time the judge took

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks.values())

    @property
    def failures(self) -> dict[str, str]:
        return {name: c.reason for name, c in self.checks.items() if not c.passed}

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "seconds": round(self.seconds, 3),
                "checks": {name: asdict(c) for name, c in self.checks.items()}}
