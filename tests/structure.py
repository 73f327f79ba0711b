"""The project's import graph, read statically, and the import cycles in it.

`python -m tests.structure` prints every cycle in the current tree (exit status 1 if any;
`--type-checking` counts the imports under `if TYPE_CHECKING:` as well);
tests/test_structure.py asserts there are none. Nothing here imports the project's modules: the
graph comes from parsing the source with `ast`, so a tree in mid-restructure can be checked
whatever state it is in.

What counts as a module and as an import:

- the project is every top-level folder with an `__init__.py` (api, worker, store, alpaca,
  alpaca_ads, config, kinds, bench, scripts, tests, ...); a module is one `.py` file in it, a
  package's `__init__.py` included (named after the package);
- `import a.b.c` is an edge to `a.b.c`; `from a.b import c` to `a.b.c` when that is a module,
  else to `a.b`; relative imports are resolved against the importing module's package; a name
  that is not a module of the project falls back to its longest prefix that is one;
- imports anywhere count, inside functions and methods too (they run when the function does),
  except under `if TYPE_CHECKING:` (they never run);
- a package's `__init__` is not an implicit target of the imports of its submodules (Python runs
  it first, but it is already importing by then), and a module importing itself is no cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "venv", ".git", "node_modules", "__pycache__"}


MODULE_LEVEL, IN_FUNCTION, TYPE_ONLY = "module level", "in a function", "under TYPE_CHECKING"
_RANK = {MODULE_LEVEL: 0, IN_FUNCTION: 1, TYPE_ONLY: 2}  # which import of a pair to show


@dataclass(frozen=True)
class Edge:
    """One import of a module by another: the first at module level, else the first in a
    function, else the first under TYPE_CHECKING."""

    source: str
    target: str
    path: str  # the importing file, relative to the root
    line: int
    where: str  # MODULE_LEVEL, IN_FUNCTION or TYPE_ONLY


Graph = dict[str, dict[str, Edge]]  # module -> imported module -> its import


def top_packages(root: Path) -> list[str]:
    """Top-level folders of `root` that are packages (hold an `__init__.py`)."""
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and p.name not in SKIPPED_DIRS and not p.name.startswith(".")
                  and (p / "__init__.py").is_file())


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Module name -> file, for every `.py` file under the given top-level packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if SKIPPED_DIRS.intersection(parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST, type_checking: bool = False,
             ) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement that can run (and, with `type_checking`, those under
    `if TYPE_CHECKING:` too), with where it sits (MODULE_LEVEL, IN_FUNCTION, TYPE_ONLY)."""
    stack: list[tuple[ast.AST, str]] = [(tree, MODULE_LEVEL)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, where
            continue
        if where == MODULE_LEVEL and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            where = IN_FUNCTION
        children = [(child, where) for child in ast.iter_child_nodes(node)]
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            body = [(child, TYPE_ONLY) for child in node.body] if type_checking else []
            children = body + [(child, where) for child in node.orelse]
        stack.extend(reversed(children))


def _package_of(module: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """`name` if it is a module of the project, else its longest prefix that is; None if none."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path,
             modules: dict[str, Path]) -> Iterator[str]:
    """The project modules one import statement names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (found := _known(alias.name, modules)) is not None:
                yield found
        return
    base = node.module or ""
    if node.level:
        package = _package_of(module, path).split(".")
        package = package[:len(package) - (node.level - 1)]
        base = ".".join(part for part in (*package, base) if part)
    for alias in node.names:
        name = f"{base}.{alias.name}" if base and alias.name != "*" else base
        found = name if name in modules else _known(base, modules)
        if found is not None:
            yield found


def module_edges(module: str, path: Path, modules: dict[str, Path], root: Path,
                 type_checking: bool = False) -> dict[str, Edge]:
    """The project modules `module` imports, each with its first import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    edges: dict[str, Edge] = {}
    for node, where in _imports(tree, type_checking):
        for target in _targets(node, module, path, modules):
            known = edges.get(target)
            if target != module and (known is None or _RANK[where] < _RANK[known.where]):
                edges[target] = Edge(module, target, str(path.relative_to(root)), node.lineno,
                                     where)
    return edges


def import_graph(root: Path = ROOT, packages: Iterable[str] | None = None, *,
                 type_checking: bool = False) -> Graph:
    """The import graph of the project's modules under `root` (static: nothing is imported);
    with `type_checking`, imports under `if TYPE_CHECKING:` count too."""
    modules = module_files(root, top_packages(root) if packages is None else packages)
    return {name: module_edges(name, path, modules, root, type_checking)
            for name, path in modules.items()}


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    components.append(_pop_component(stack, on_stack, node))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, {})))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component: list[str] = []
    while True:
        node = stack.pop()
        on_stack.discard(node)
        component.append(node)
        if node == root:
            return sorted(component)


def _shortest_path(graph: Graph, start: str, goal: str, allowed: set[str]) -> list[str]:
    """The shortest path start -> ... -> goal inside `allowed` (breadth first, sorted order)."""
    parent: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier and goal not in parent:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child in allowed and child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    path, node = [], goal
    while node is not None:
        path.append(node)
        node = parent[node]
    return path[::-1]


def _canonical(cycle: list[str]) -> tuple[str, ...]:
    """A cycle (without its repeated end) rotated to start at its smallest module."""
    at = cycle.index(min(cycle))
    return tuple(cycle[at:] + cycle[:at])


def cycles(graph: Graph) -> list[list[tuple[str, ...]]]:
    """Per strongly connected component of more than one module, its cycles: for each import
    inside the component, the shortest cycle through it (so every import to cut appears)."""
    found: list[list[tuple[str, ...]]] = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        chains: set[tuple[str, ...]] = set()
        for source in component:
            for target in graph[source]:
                if target in members:
                    chains.add(_canonical([source, *_shortest_path(graph, target, source,
                                                                   members)[:-1]]))
        found.append(sorted(chains, key=lambda c: (len(c), c)))
    return found


def chain(cycle: tuple[str, ...]) -> str:
    """`a.b -> c.d -> a.b`."""
    return " -> ".join((*cycle, cycle[0]))


def describe(graph: Graph, component: list[tuple[str, ...]]) -> str:
    """A component's cycles as chains, each import with its file, line and where it sits."""
    members = sorted({module for cycle in component for module in cycle})
    lines = [f"{len(members)} modules: {', '.join(members)}"]
    for cycle in component:
        lines.append(f"  {chain(cycle)}")
        for source, target in zip(cycle, (*cycle[1:], cycle[0])):
            edge = graph[source][target]
            lines.append(f"      {source} -> {target}  ({edge.path}:{edge.line}, {edge.where})")
    return "\n".join(lines)


def report(graph: Graph) -> str:
    """Every cycle of the graph, grouped by strongly connected component; '' if none."""
    return "\n".join(f"cycle group {n}: {describe(graph, component)}"
                     for n, component in enumerate(cycles(graph), start=1))


def main(argv: list[str]) -> int:
    """Print the cycles of the current tree; exit status 1 if there are any. With
    `--type-checking`, imports under `if TYPE_CHECKING:` count too (the test does not count them)."""
    graph = import_graph(type_checking="--type-checking" in argv)
    found = cycles(graph)
    edges = sum(map(len, graph.values()))
    print(f"{len(graph)} modules, {edges} imports between them, "
          f"{len(found)} cycle groups, {sum(map(len, found))} cycles")
    if found:
        print(report(graph))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
