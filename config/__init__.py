"""Process settings for the API, the workers and the command-line tools (pydantic-settings).

Read once per process through `get_settings()`. The model itself reads nothing from here: model
shape lives in the checkpoint's config.
"""

from config.settings import DEFAULT_ROUNDS, Settings, get_settings

__all__ = ["DEFAULT_ROUNDS", "Settings", "get_settings"]
