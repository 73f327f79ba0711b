"""The project's structure: no import cycles between its modules, and its design docs in docs/.

The import graph is read statically (tests/structure.py, `ast`, nothing imported): a module is a
`.py` file of a top-level package, a package's `__init__` included; imports inside functions
count (they run when the function does), imports under `if TYPE_CHECKING:` do not (they never
run). `python -m tests.structure` prints the cycles of the current tree.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.structure import (
    IN_FUNCTION, ROOT, chain, cycles, import_graph, report, strongly_connected,
)

DOCS = ("README.md", "architecture.md", "reliability.md", "model-notes.md", "ads.md",
        "house-style.md")
# A design document cited by its old name (outside docs/): DESIGN.md, RELIABILITY.md, or the
# notes' names with or without `.md`, or the shared folder they came from.
OLD_CITATION = re.compile(
    r"\b(?:DESIGN|RELIABILITY)\.md\b|\b(?:MODEL_NOTES|ADS_NOTES|HOUSE_STYLE)(?:\.md)?\b"
    r"|/work/shared\b")
CITING_SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".mako"}
CITING_NAMES = {"Makefile", "Dockerfile", "run"}
NOT_SCANNED = {".git", ".venv", ".pytest_cache", "__pycache__", "docs", "var", "out",
               "node_modules", "alpaca_jobs.egg-info"}
SELF = {Path(__file__).resolve(), (ROOT / "tests" / "structure.py").resolve()}


def write_package(root: Path, files: dict[str, str]) -> None:
    """Write `files` (path relative to `root` -> source) under `root`."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_project_modules_import_each_other_without_cycles() -> None:
    graph = import_graph()
    assert cycles(graph) == [], "import cycles:\n" + report(graph)


def test_worker_modules_import_each_other_without_cycles_even_for_types() -> None:
    """The run's loop, its lifecycle and the fine-tune's steps are layered: engine -> crossjob,
    rounds -> lifecycle; finetune -> finetune_train, finetune_eval -> finetune_plan."""
    graph = import_graph(type_checking=True)
    found = [chain(c) for group in cycles(graph) for c in group
             if any(module.split(".")[0] == "worker" for module in c)]
    assert found == []


def test_checker_finds_a_cycle_planted_in_a_package(tmp_path: Path) -> None:
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n",  # `from package import submodule`
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import a\nimport os\n",  # relative, two levels
        "pkg/b.py": "from .sub.c import name\n",  # relative, a module's attribute
        "pkg/d.py": "import pkg.a\n",  # imports into the cycle, not part of it
    })
    graph = import_graph(tmp_path)
    assert set(graph) == {"pkg", "pkg.a", "pkg.b", "pkg.d", "pkg.sub", "pkg.sub.c"}
    assert cycles(graph) == [[("pkg.a", "pkg.b", "pkg.sub.c")]]
    assert "pkg.a -> pkg.b -> pkg.sub.c -> pkg.a" in report(graph)


def test_checker_finds_a_cycle_through_an_import_inside_a_function(tmp_path: Path) -> None:
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/engine.py": "from pkg.rounds import run_step\n",
        "pkg/rounds.py": "def run_step():\n    from pkg.engine import Runtime\n    return Runtime\n",
    })
    graph = import_graph(tmp_path)
    assert [chain(c) for group in cycles(graph) for c in group] == [
        "pkg.engine -> pkg.rounds -> pkg.engine"]
    assert graph["pkg.rounds"]["pkg.engine"].where == IN_FUNCTION
    assert "pkg/rounds.py:2, in a function" in report(graph)


def test_imports_under_type_checking_do_not_count(tmp_path: Path) -> None:
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/engine.py": "from pkg.rounds import run_step\n",
        "pkg/rounds.py": "import typing\nif typing.TYPE_CHECKING:\n"
                         "    from pkg.engine import Runtime\nelse:\n    import pkg.other\n",
        "pkg/other.py": "",
    })
    assert cycles(import_graph(tmp_path)) == []
    assert set(import_graph(tmp_path)["pkg.rounds"]) == {"pkg.other"}
    assert len(cycles(import_graph(tmp_path, type_checking=True))) == 1


def test_tarjan_needs_no_recursion_on_a_long_cycle() -> None:
    n = 5 * sys.getrecursionlimit()
    graph = {f"m{i}": {f"m{(i + 1) % n}": None} for i in range(n)}
    assert [len(c) for c in strongly_connected(graph)] == [n]  # type: ignore[arg-type]


def test_the_graph_covers_the_project_and_imports_none_of_it() -> None:
    code = ("import json, sys; from tests.structure import import_graph; g = import_graph(); "
            "print(json.dumps({'modules': len(g), 'packages': sorted({m.split('.')[0] for m in g}), "
            "'loaded': sorted(m for m in sys.modules if m.split('.')[0] in "
            "('api', 'worker', 'store', 'alpaca', 'alpaca_ads', 'config', 'kinds'))}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                    text=True, check=True).stdout)
    assert out["modules"] > 100
    assert {"api", "worker", "store", "alpaca", "config"} <= set(out["packages"])
    assert out["loaded"] == []  # static: not one project module was imported


def test_design_documents_are_in_docs() -> None:
    missing = [name for name in DOCS if not (ROOT / "docs" / name).is_file()]
    assert missing == []
    index = (ROOT / "docs" / "README.md").read_text()
    assert all(f"({name})" in index for name in DOCS if name != "README.md")


def citing_files(root: Path) -> list[Path]:
    """Source files, READMEs and build files of the repository, docs/ and build output aside."""
    return sorted(
        path for path in root.rglob("*")
        if path.is_file() and not NOT_SCANNED.intersection(path.relative_to(root).parts)
        and (path.suffix in CITING_SUFFIXES or path.name in CITING_NAMES)
        and path.resolve() not in SELF
    )


def old_citations(root: Path) -> list[str]:
    """`path:line: text` of every line that cites a design document outside docs/."""
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in citing_files(root)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if OLD_CITATION.search(line)
    ]


def test_no_source_cites_a_design_document_outside_docs() -> None:
    found = old_citations(ROOT)
    assert found == [], "cite docs/ instead:\n" + "\n".join(found)


def test_citation_check_finds_old_names(tmp_path: Path) -> None:
    write_package(tmp_path, {
        "a.py": '"""Chaos tests only (RELIABILITY.md case 6)."""\n',
        "b.py": "# the palette output MODEL_NOTES recommends\n",
        "c.py": '"""See docs/reliability.md case 6."""\n',
        "docs/reliability.md": "RELIABILITY.md\n",
    })
    assert [line.split(":")[0] for line in old_citations(tmp_path)] == ["a.py", "b.py"]
