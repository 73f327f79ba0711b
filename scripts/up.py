"""`make up`: the API, one worker, the sweeper and Flower in the foreground, on the same defaults
as `make demo`, until Ctrl-C. Create a key with `.venv/bin/python -m api.keys create --tenant NAME`.
"""

from __future__ import annotations

import signal
import time

from config import Settings
from scripts.services import Stack, flower_password


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    settings = Settings()
    stack = Stack(settings)
    stack.migrate()
    stack.start(foreground_logs=True)
    print(f"API    {stack.api_url}/v1  (docs {stack.api_url}/docs)")
    print(f"Flower {stack.flower_url}  user {settings.flower_user} password {flower_password(settings)}")
    print("new API key: .venv/bin/python -m api.keys create --tenant NAME; Ctrl-C stops everything")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(proc.poll() is None for proc in stack.procs.values()):
            time.sleep(1)
        print("a process exited; stopping the stack")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
