"""The project's shape: no import cycles, layers that point one way, short documented files.

The import graph is read from the source with ``ast``: every ``import``/``from ... import`` of a module, at
module level, inside functions and classes, and under ``if TYPE_CHECKING:`` alike (a function-level import
still ties the two modules together; it only hides the cycle from the interpreter at start-up). An import
is an edge to the deepest project module it names (``from pkg import sub`` is an edge to ``pkg.sub`` when
``sub`` is a module, else to ``pkg``); importing ``pkg.sub`` is not counted as importing ``pkg`` itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
#: The layers, lowest first: a module may import its own layer and the layers below it, never one above, and
#: packages of one layer not each other. The core (what is benchmarked, over what) knows nothing of how it is run;
#: ``records`` (the results store, the study storage, what a trial reports) is the room both ``runners`` and
#: ``reports`` import, so neither needs the other; ``perf``, the project's measurement of its own speed, may import
#: everything.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("benchmarks",),
    ("search_spaces",),
    ("records",),
    ("runners", "reports"),
    ("perf",),
)
PACKAGES = tuple(package for layer in LAYERS for package in layer)
MAX_LINES = 400

# Import cycles allowed, each one cycle's modules: a cycle found in the graph must lie within one of these (a
# shrinking cycle passes), any other fails. None today; keep it so.
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()



def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` of ``packages``."""
    files = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            files[_module_name(path)] = path
    return files


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *(target.split(".") if target else [])])


def _deepest(name: str, modules: Iterable[str]) -> str | None:
    """The longest prefix of the dotted ``name`` that is a project module."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports_of(module: str, source: str, path: str, modules: Iterable[str]) -> set[str]:
    """The project modules ``module`` imports anywhere in ``source``."""
    modules = set(modules)
    is_package = path.endswith("__init__.py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            # ``from pkg import sub``: the submodule when it is one, else the package (a name defined in it).
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _deepest(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph(files: Mapping[str, Path] | None = None) -> dict[str, set[str]]:
    files = project_files() if files is None else files
    return {name: imports_of(name, path.read_text(), str(path), files) for name, path in files.items()}


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (an import cycle each), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: no recursion limit whatever the graph
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def a_cycle(graph: Mapping[str, set[str]], component: Iterable[str]) -> list[str]:
    """One concrete cycle through the first module of ``component``: ``[a, b, ..., a]`` (shortest, by BFS)."""
    members = sorted(component)
    start = members[0]
    inside = set(members)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & inside):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{members} is not a cycle")


def cycle_problems(graph: Mapping[str, set[str]], known: Iterable[frozenset[str]] = KNOWN_CYCLES) -> list[str]:
    known = list(known)
    return [
        " -> ".join(a_cycle(graph, component)) + f"  (all of {', '.join(component)})"
        for component in strongly_connected(graph)
        if not any(set(component) <= allowed for allowed in known)
    ]


def _in(module: str, packages: Iterable[str]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def _layer(module: str) -> tuple[int, str]:
    package = module.split(".")[0]
    return next(i for i, layer in enumerate(LAYERS) if package in layer), package


def layer_problems(graph: Mapping[str, set[str]]) -> list[str]:
    """``a imports b`` for every import that points up the layers, or across to another package of one layer."""
    problems = []
    for module in sorted(graph):
        level, package = _layer(module)
        for target in sorted(graph[module]):
            target_level, target_package = _layer(target)
            if target_level > level or (target_level == level and target_package != package):
                problems.append(f"{module} imports {target}")
    return problems


def long_files(paths: Iterable[Path], limit: int = MAX_LINES) -> dict[str, int]:
    """Project-relative path -> line count, for the files over ``limit`` lines."""
    counts = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in paths}
    return {path: n for path, n in sorted(counts.items()) if n > limit}


def python_files() -> list[Path]:
    return [path for top in (*PACKAGES, "tests") for path in sorted((ROOT / top).rglob("*.py"))]


def _module_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """The module's statements, with those under a module-level ``if``/``try`` (a definition there is public too)."""
    for node in body:
        if isinstance(node, (ast.If, ast.Try)):
            yield from _module_level([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
        else:
            yield node


def missing_docstrings(paths: Iterable[Path], root: Path = ROOT) -> list[str]:
    """What lacks a docstring: ``path: module`` for a module, ``path:line name`` for a public function or class.

    Public: a module-level ``def`` or ``class`` whose name has no leading underscore, in any module (a private
    module's public names are its package's interface).
    """
    missing = []
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        where = str(path.relative_to(root))
        if ast.get_docstring(tree) is None:
            missing.append(f"{where}: module")
        missing += [
            f"{where}:{node.lineno} {node.name}"
            for node in _module_level(tree.body)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not node.name.startswith("_") and ast.get_docstring(node) is None
        ]
    return missing


# --- the checks ---------------------------------------------------------------------------------------------


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "perf.memory_over_trials" in graph
    assert "runners.search" in graph["perf.memory_over_trials"]  # a function-level import
    assert "search_spaces._catalog" in graph["search_spaces"]  # a package's __init__, module level
    assert "perf.gpu_bench" in graph["perf.__main__"]  # ``from pkg import submodule``


def test_no_import_cycles():
    problems = cycle_problems(import_graph())
    assert not problems, "import cycles:\n" + "\n".join(problems)


def test_the_layers_point_one_way():
    problems = layer_problems(import_graph())
    order = " < ".join("/".join(layer) for layer in LAYERS)
    assert not problems, f"imports must point down the layers ({order}):\n" + "\n".join(problems)


def test_no_file_over_400_lines():
    over = long_files(python_files())
    assert not over, f"files over {MAX_LINES} lines: " + ", ".join(f"{p} ({n})" for p, n in over.items())


def test_every_module_and_public_function_and_class_has_a_docstring():
    missing = missing_docstrings(project_files().values())
    assert not missing, "say what it is for, in a one-line summary first:\n" + "\n".join(missing)


# --- the checks can fail ------------------------------------------------------------------------------------


def _package(tmp_path: Path, files: Mapping[str, str]) -> dict[str, Path]:
    paths = {}
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        parts = name.removesuffix(".py").split("/")
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return paths


def test_a_cycle_through_a_function_level_relative_import_is_named(tmp_path):
    files = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import thing\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import C\n",
        "pkg/c.py": "def f():\n    from . import a\n",
        "pkg/d.py": "import pkg.a\n",
    })
    graph = import_graph(files)
    assert graph["pkg.c"] == {"pkg.a"} and graph["pkg.d"] == {"pkg.a"}
    assert cycle_problems(graph, known=()) == ["pkg.a -> pkg.b -> pkg.c -> pkg.a  (all of pkg.a, pkg.b, pkg.c)"]
    assert cycle_problems(graph, known=[frozenset({"pkg.a", "pkg.b", "pkg.c"})]) == []
    assert cycle_problems(graph, known=[frozenset({"pkg.a", "pkg.b"})]) != []  # a cycle outside the allow-list


def test_an_import_up_or_across_the_layers_is_named():
    graph = {"benchmarks.features": {"benchmarks.models"}, "benchmarks.training": {"records.store"},
             "search_spaces.default": {"perf.report"}, "perf.report": {"runners.search", "reports.build"},
             "reports.data": {"records.store", "runners.store"}, "runners.suite": {"reports.build"},
             "records.store": {"benchmarks.errors"}}
    assert layer_problems(graph) == ["benchmarks.training imports records.store", "reports.data imports runners.store",
                                     "runners.suite imports reports.build", "search_spaces.default imports perf.report"]


def test_a_long_file_is_named():
    long = ROOT / "tests" / "unit" / "test_architecture.py"
    assert long_files([long], limit=10) == {"tests/unit/test_architecture.py": len(long.read_text().splitlines())}
    assert long_files([long]) == {}


def test_a_missing_docstring_is_named(tmp_path):
    files = _package(tmp_path, {
        "pkg/__init__.py": '"""The package."""\n',
        "pkg/_private.py": "def helper():\n    pass\n",
        "pkg/a.py": '"""A module."""\n\nclass Shown:\n    def method(self):\n        pass\n\n\n'
                    'def _hidden():\n    pass\nif True:\n    def branch():\n        pass\n',
        "pkg/b.py": '"""B."""\n\ndef f():\n    """Documented."""\n    def inner():\n        pass\n',
    })
    assert missing_docstrings(files.values(), root=tmp_path) == [
        "pkg/_private.py: module", "pkg/_private.py:1 helper", "pkg/a.py:3 Shown", "pkg/a.py:11 branch",
    ]
