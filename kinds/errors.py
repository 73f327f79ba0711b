"""What reading a checkpoint can refuse, as types every caller can catch (stdlib only).

Raised where checkpoint files are read (`kinds.checkpoint_files`, the worker's fine-tune
snapshots), so the worker tells an unsafe checkpoint from a missing one by its type, never by
the words of its message.
"""

from __future__ import annotations


class UnsafeCheckpoint(ValueError):
    """A checkpoint that would have to be unpickled (or is not what it claims): refused."""


class MissingCheckpoint(FileNotFoundError):
    """No usable checkpoint at the path."""
