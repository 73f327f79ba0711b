"""The creative domain, pure Python and numpy (no torch): what prompts ask for, the tiles that
satisfy them, and the checks between.

`alpaca.domain` is the one import a caller needs; it re-exports:
- `scene`: the vocabulary (shapes, colours, sizes, styles, cells, relations) and the Spec / Scene
  types; `lexicon`: the English and Chinese words for them;
- `sampling`: held-out pairs, spec sampling and realisation into a scene;
- `grammar`: the prompt and caption writer; `parser`: the reader of both;
- `shapes`: the renderer; `checks`: a scene against a spec, and the loop's `agreement`.
The pixel judge (`judge`) and the interactor's training repairs (`repair`) are modules of this
package too, imported by name. Does not know: models, tokenizers, tensors.
"""

from .checks import agreement, check, met_share
from .grammar import caption, noun_phrase, prompt_text
from .parser import infer_category, is_caption, parse, scene_from_caption
from .sampling import (
    ALL_PAIRS, HELDOUT_PAIRS, JITTER_MARGIN, SPLIT_CATEGORIES, TRAIN_PAIRS, is_heldout,
    jitter_bound, object_attributes, realize, sample, sample_spec,
)
from .scene import (
    CAPTION, CATEGORIES, CELLS, COLOUR_NAMES, COLOURS, GRID, LANGS, MAX_OBJECTS, RELATIONS, SHAPES,
    SIZES, STYLES, ObjectSpec, Placed, Relation, Scene, Spec, cell_centre, cell_index, cell_of,
    colour_index, relation_holds, shape_index, size_index, style_index,
)
from .shapes import PALETTE, SIZE_FRACTION, render, render_indices, sprite

__all__ = [
    "ALL_PAIRS", "CAPTION", "CATEGORIES", "CELLS", "COLOURS", "COLOUR_NAMES", "GRID",
    "HELDOUT_PAIRS", "JITTER_MARGIN", "LANGS", "MAX_OBJECTS", "PALETTE", "RELATIONS", "SHAPES",
    "SIZES", "SIZE_FRACTION", "SPLIT_CATEGORIES", "STYLES", "TRAIN_PAIRS", "ObjectSpec", "Placed",
    "Relation", "Scene", "Spec", "agreement", "caption", "cell_centre", "cell_index", "cell_of",
    "check", "colour_index", "infer_category", "is_caption", "is_heldout", "jitter_bound",
    "met_share", "noun_phrase", "object_attributes", "parse", "prompt_text", "realize",
    "relation_holds", "render", "render_indices", "sample", "sample_spec", "scene_from_caption",
    "shape_index", "size_index", "sprite", "style_index",
]
