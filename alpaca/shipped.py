"""Where the shipped default checkpoint lies. Standard library only: the light modules (the
package's `__init__`, `alpaca.kind`, which the API reads) name it without loading torch."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default"
