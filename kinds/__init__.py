"""The model seam: the contract between the worker and a model family, and the kind registry.

Stdlib only: the API imports this package, and so does every model family's spec module.
"""

from .contract import (
    FieldProblem, ItemProblem, ItemRefusal, LoadOptions, ModelKind, ServableModel, Step,
    check_common_options, check_generate_args, check_plain_prompt,
)
from .errors import MissingCheckpoint, UnsafeCheckpoint
from .registry import DEFAULT_KIND, UnknownKind, get_kind, kind_of_default_model, kinds

__all__ = [
    "DEFAULT_KIND", "FieldProblem", "ItemProblem", "ItemRefusal", "LoadOptions", "MissingCheckpoint",
    "ModelKind", "ServableModel", "Step", "UnknownKind", "UnsafeCheckpoint", "check_common_options",
    "check_generate_args", "check_plain_prompt", "get_kind", "kind_of_default_model", "kinds",
]
