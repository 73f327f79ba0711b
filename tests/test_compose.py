"""docker-compose.yml is the production shape; no Docker engine runs here, so it is checked by parsing.

Every command a service runs must exist in this project, the worker must run one solo process per
GPU with a GPU reservation, Flower must require credentials, and start order must use health.
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = [name for name, svc in SERVICES.items() if svc.get("image", "").startswith("alpaca-jobs:")]


def command_of(service: dict) -> list[str]:
    command = service["command"]
    if isinstance(command, str):
        return command.split()
    if command[:2] == ["sh", "-c"]:
        return command[2].split()
    return command


def module_exists(dotted: str) -> bool:
    path = ROOT / Path(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_expected_services_are_there() -> None:
    assert {"redis", "postgres", "migrate", "api", "worker", "sweeper", "webhooks", "flower"} <= set(SERVICES)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_command_exists_in_the_project(name: str) -> None:
    argv = command_of(SERVICES[name])
    if argv[0] == "alembic":
        assert (ROOT / "alembic.ini").exists() and (ROOT / "migrations" / "env.py").exists()
    elif argv[0] == "uvicorn":
        module, attr = argv[1].split(":")
        assert module_exists(module)
        assert getattr(importlib.import_module(module), attr) is not None
    elif argv[0] == "celery":
        assert module_exists(argv[argv.index("-A") + 1])
    elif argv[:2] == ["python", "-m"]:
        assert module_exists(argv[2])
    else:
        pytest.fail(f"{name} runs an unknown command {argv}")


@pytest.mark.parametrize("name", ["worker", "finetune-worker"])
def test_gpu_workers_are_solo_with_a_gpu_reservation(name: str) -> None:
    worker = SERVICES[name]
    assert "--pool=solo" in command_of(worker)
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_flower_requires_credentials_and_binds_to_loopback_on_the_host() -> None:
    flower = SERVICES["flower"]
    assert command_of(flower) == ["python", "-m", "worker.flower"]  # refuses to run without a password
    assert flower["environment"]["FLOWER_PASSWORD"].startswith("${FLOWER_PASSWORD:?")
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_start_order_waits_for_health_and_migrations() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "sweeper"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("redis", "postgres", "api"):
        assert "healthcheck" in SERVICES[name]


def test_no_default_secrets() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${FLOWER_PASSWORD:?" in text
    assert "${REDIS_PASSWORD:?" in text
    assert "${S3_ACCESS_KEY_ID:?" in text and "${S3_SECRET_ACCESS_KEY:?" in text


def test_the_app_stores_objects_in_the_s3_service_and_starts_after_it() -> None:
    """Workers on several machines share outputs through the object store, not a volume."""
    from config.settings import Settings
    from objects.s3 import parse_s3_url

    s3 = SERVICES["s3"]
    assert "healthcheck" in s3 and "-s3.port=8333" in command_of(s3)
    bucket = next(arg.split("=", 1)[1] for arg in command_of(s3) if arg.startswith("-bucket="))
    for name in APP_SERVICES:
        env = SERVICES[name]["environment"]
        assert parse_s3_url(env["STORAGE_URL"])[0] == bucket
        assert env["S3_ENDPOINT_URL"] == "http://s3:8333"
        assert Settings(storage_url=env["STORAGE_URL"]).storage_url == env["STORAGE_URL"]
    for name in ("api", "worker", "finetune-worker", "sweeper"):
        assert SERVICES[name]["depends_on"]["s3"]["condition"] == "service_healthy"


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert {"alpaca_ads", "kinds", "worker"} <= set(packages)
    for package in [*packages, "migrations"]:
        assert f"COPY {package} ./{package}" in dockerfile, f"the image lacks {package}/"


def test_the_image_installs_the_cjk_font_the_contact_sheet_looks_for() -> None:
    from api.sheet import FONT_CANDIDATES

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "fonts-noto-cjk" in dockerfile  # Debian's package of NotoSansCJK-Regular.ttc
    assert "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc" in FONT_CANDIDATES
