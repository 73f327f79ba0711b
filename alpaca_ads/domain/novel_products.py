"""Products the catalog does not sell, named from the icon pack's slugs, for training a reader
on where a brief names its product rather than which words it may be (`briefs.sample_brief`'s
`novel_share`, the reading refit's `novel_product_share`). It knows nothing about briefs'
wording; the catalog is read only to leave its own products out.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from alpaca_ads.domain import catalog

# Words of icon slugs that name no thing one sells (interface parts, shapes, states, symbols).
_NOT_GOODS = frozenset("""
outline variant off box circle multiple plus minus remove check alert edit lock cog settings
network account arrow chevron format align text numeric alpha code file folder sync clock star
heart marker bold italic underline left right top bottom center horizontal vertical open close
closed half full empty filled sharp thin thick badge cancel search play pause stop skip next
previous refresh reload undo redo add delete import export upload download share link unlink eye
view hide show cursor pointer magnify zoom sort filter menu dots grid list table chart graph
database server cloud wifi bluetooth signal battery power beta gamma delta sigma omega roman
letter vector shape square rectangle triangle hexagon octagon pentagon rhombus ellipse oval
cross asterisk slash hash question exclamation information help home user users group login
logout key shield security lan ethernet usb hdmi serial expand collapse fit resize move drag
rotate flip mirror crop layers layer select selection start end auto manual mode light dark
brightness contrast invert tune message emoticon application alphabet gesture progress
""".split())


@lru_cache(maxsize=1)
def novel_product_names() -> tuple[str, ...]:
    """Things named by the icon pack's slugs of one or two plain words ('telescope', 'cargo
    bicycle', 'soy sauce' from 'sauce-soy'): products the catalog does not have, for teaching a
    reader where a brief names its product rather than which words it may be."""
    from alpaca_ads.domain.assets import icon_slugs

    sold = {name.lower() for p in catalog.PRODUCTS for name in p.en}
    names = []
    for slug in icon_slugs():
        words = slug.split("-")
        name = " ".join(words)
        if len(words) <= 2 and all(re.fullmatch(r"[a-z]{3,}", w) and w not in _NOT_GOODS
                                   for w in words) and not {name, name + "s"} & sold:
            names.append(name)
    return tuple(names)


def novel_product_text(rng: np.random.Generator) -> str:
    """A `novel_product_names` name as a brief may write it: its words in either order, the
    last one in the plural half the time."""
    names = novel_product_names()
    words = names[int(rng.integers(len(names)))].split()
    if len(words) == 2 and rng.random() < 0.5:
        words.reverse()
    if rng.random() < 0.5 and not words[-1].endswith("s"):
        words[-1] += "s"
    return " ".join(words)
