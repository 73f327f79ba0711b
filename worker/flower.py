"""`python -m worker.flower [flower options]`: Flower for the Celery app, never without credentials.

Flower with no authentication serves its dashboard to anyone who can reach the port, binds every
interface by default, and its API can apply tasks and shut workers down. This launcher is how the
product starts it (scripts/services.py, `make up`):

- it refuses to start (exit status 2) while FLOWER_PASSWORD is empty, or when the user name is
  empty or holds ':', or either holds ',' (Flower splits its credential list on commas);
- it binds FLOWER_ADDRESS (default 127.0.0.1) and FLOWER_PORT; a container that publishes the
  port sets FLOWER_ADDRESS=0.0.0.0 and maps it to 127.0.0.1 on the host (docker-compose.yml);
- the credentials reach Flower through its FLOWER_BASIC_AUTH variable, not the command line,
  because any local user can read a process's arguments (/proc/<pid>/cmdline);
- FLOWER_UNAUTHENTICATED_API, which would open the API without credentials, is removed.

The process is replaced by `python -m celery -A worker.celery_app flower` (same pid), so whoever
started this launcher can stop Flower by that pid.
"""

from __future__ import annotations

import logging
import os
import sys

from config import Settings, get_settings

log = logging.getLogger(__name__)

NO_PASSWORD = "refusing to start Flower without credentials: set FLOWER_PASSWORD"
BAD_CREDENTIALS = ("refusing to start Flower: FLOWER_USER must be non-empty without ':', and "
                   "neither FLOWER_USER nor FLOWER_PASSWORD may contain ','")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_credentials(settings: Settings) -> str:
    """'user:password' for Flower's basic auth; ValueError with a fixed message if unusable."""
    user, password = settings.flower_user, settings.flower_password
    if not password:
        raise ValueError(NO_PASSWORD)
    if not user or ":" in user or "," in user or "," in password:
        raise ValueError(BAD_CREDENTIALS)
    return f"{user}:{password}"


def flower_argv(settings: Settings, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "worker.celery_app", "flower",
            f"--address={settings.flower_address}", f"--port={settings.flower_port}", *extra]


def flower_env(settings: Settings, environ: dict[str, str]) -> dict[str, str]:
    """The child's environment: the credentials in FLOWER_BASIC_AUTH, no unauthenticated API."""
    env = {k: v for k, v in environ.items() if k != "FLOWER_UNAUTHENTICATED_API"}
    env["FLOWER_BASIC_AUTH"] = check_credentials(settings)
    return env


def main(extra: list[str]) -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    try:
        env = flower_env(settings, dict(os.environ))
    except ValueError as exc:
        log.error("%s", exc)
        raise SystemExit(2) from exc
    if settings.flower_address not in LOOPBACK:
        log.warning("Flower listens on %s, not loopback: publish it only behind a firewall",
                    settings.flower_address)
    log.info("starting Flower on %s:%d for user %s", settings.flower_address,
             settings.flower_port, settings.flower_user)
    argv = flower_argv(settings, extra)
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main(sys.argv[1:])
