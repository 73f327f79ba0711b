"""`python -m worker [generate|finetune] [extra celery args]`: start one worker for a queue.

The same as the documented command line, which also works as is:

    celery -A worker.tasks worker -Q generate --pool=solo -c 1 -n gen@%h --loglevel=INFO -E

One solo process per GPU: CUDA is not fork-safe, and the process keeps its model loaded between
jobs. Settings (DATABASE_URL, REDIS_URL, STORAGE_DIR, MODEL_BACKEND, BATCH_SIZE, ...) come from
the environment.
"""

from __future__ import annotations

import sys

NODE_PREFIX = {"generate": "gen", "finetune": "ft"}


def worker_argv(queue: str, extra: list[str]) -> list[str]:
    """Celery worker arguments for `queue` (generate or finetune)."""
    if queue not in NODE_PREFIX:
        raise ValueError(f"queue must be generate or finetune, got {queue!r}")
    return ["worker", "-Q", queue, "--pool=solo", "-c", "1", "-n", f"{NODE_PREFIX[queue]}@%h",
            "--loglevel=INFO", "-E", *extra]


def main(argv: list[str]) -> None:
    from worker.tasks import app

    queue = argv[0] if argv and not argv[0].startswith("-") else "generate"
    extra = argv[1:] if argv and not argv[0].startswith("-") else argv
    app.worker_main(argv=worker_argv(queue, extra))


if __name__ == "__main__":
    main(sys.argv[1:])
