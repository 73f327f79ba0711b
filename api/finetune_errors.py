"""HTTP errors of the dataset and fine-tune routes, in the one error shape of `api.errors`.

Fixed message templates, tested word for word. Archive problems found by `api.archive` carry
their own status, code and message (and, for unsafe members, one detail per member).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from api.archive import ArchiveError
from api.errors import ErrorKind, error_response

DATASET_NOT_FOUND = ErrorKind(404, "dataset_not_found", "dataset {dataset_id} not found")
NOT_MULTIPART = ErrorKind(
    415, "unsupported_media_type",
    "send the dataset as multipart/form-data with the zip in the field 'file' "
    "(got '{content_type}')")
MISSING_UPLOAD = ErrorKind(
    400, "missing_upload", "the form has no file field 'file'; attach the dataset zip as 'file'")
INVALID_DATASET_NAME = ErrorKind(
    422, "invalid_name", "name must be 1 to 200 printable characters, got {length} characters")
DATASET_EMPTY = ErrorKind(
    422, "dataset_empty", "dataset {dataset_id} has no accepted pairs to fine-tune on")
STEPS_OUT_OF_RANGE = ErrorKind(
    422, "steps_out_of_range", "steps must be between 1 and {limit}, got {steps}")
BASE_MODEL_NOT_TRAINABLE = ErrorKind(
    422, "base_model_not_trainable",
    "model '{model}' is of kind '{kind}', which cannot be fine-tuned; choose a model of a kind "
    "that trains (GET /v1/models shows each model's kind)")
NAME_TAKEN = ErrorKind(
    422, "invalid_name", "'{name}' is reserved for the shipped model; choose another name")


def archive_error_response(exc: ArchiveError) -> JSONResponse:
    """The error body for a refused upload; unsafe members are listed in `details`."""
    details = [{"field": d["file"], "message": f"{d['reason']}: {d['message']}"}
               for d in exc.details[:100]]
    return error_response(exc.status, exc.code, exc.message, details=details or None)
