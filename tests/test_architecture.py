"""The shape of the source tree: no package imports a package that imports it, and no
file in src/ is over 400 lines unless it is a table of data.

The import graph is built from the source text (every `import` and `from ... import`,
also those inside functions, which still tie the packages together), between the
top-level parts of followups: its packages (followups.chains, followups.api, ...) and its
modules (followups.db, followups.models, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "followups"
MAX_LINES = 400

# Files over MAX_LINES that are tables of data, not logic.
TABLES = {
    # Every table of the schema in one place (owner-leading keys, indexes, constraints):
    # a table of data that reads best whole.
    "followups/models.py",
}



def _part(module: str) -> str | None:
    """The top-level part of followups that `module` names, or None outside followups."""
    names = module.split(".")
    if names[0] != "followups" or len(names) < 2:
        return None
    return names[1]


def _own_part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The modules `path` imports, absolute (relative imports resolved), at any depth."""
    module = ".".join(path.relative_to(SRC).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_of(path.read_text(encoding="utf-8"), package)


def imports_of(source: str, package: str) -> set[str]:
    """The modules a source file of `package` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            found.add(stem)
            # `from followups import clock` imports the module followups.clock.
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """Top-level part -> the top-level parts it imports (itself left out)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        own = _own_part(path)
        edges = graph.setdefault(own, set())
        for module in _imports(path):
            part = _part(module)
            if part is not None and part != own and _exists(part):
                edges.add(part)
    return graph


def _exists(part: str) -> bool:
    return (PACKAGE / part).is_dir() or (PACKAGE / f"{part}.py").is_file()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one part (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def cycle_pairs(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Every pair of parts that reach each other: the cycles, named by their ends."""
    pairs = set()
    for component in cycles(graph):
        members = set(component)
        for a in component:
            for b in _reachable(graph, a) & members:
                if a != b and a in _reachable(graph, b):
                    pairs.add(frozenset((a, b)))
    return pairs


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_graph_sees_function_level_and_relative_imports():
    """An import inside a function ties two packages as much as one at the top."""
    source = "def late():\n    from ..users import tokens\n    import followups.db\n"
    found = {_part(m) for m in imports_of(source, "followups.chains")} - {None}
    assert found == {"users", "db"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "api" in import_graph()["app"]  # the composition root builds the API


def test_no_package_imports_a_package_that_imports_it():
    graph = import_graph()
    found = cycle_pairs(graph)
    assert not found, "package cycles: " + "; ".join(
        " <-> ".join(sorted(pair)) for pair in sorted(found, key=sorted)
    ) + f"\n(components: {cycles(graph)})"


def test_no_file_in_src_is_over_400_lines_unless_a_table_of_data():
    long = {
        path.relative_to(SRC).as_posix(): count
        for path in sorted(SRC.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unexpected = {name: count for name, count in long.items() if name not in TABLES}
    assert not unexpected, f"files over {MAX_LINES} lines: {unexpected}"
