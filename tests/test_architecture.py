"""The architecture, measured from the code: no import cycle inside labctl/, and imports that only
run down the wings (commands → labs, learning and the runs → results → measure → runtime → the
base modules). Function-level imports count; imports only for type checking do not (they never
run). The layers are stated here once; a new module finds its layer by its folder."""

from __future__ import annotations

import ast
from pathlib import Path

import labctl

PACKAGE = Path(labctl.__file__).resolve().parent

# Lower numbers are lower layers; a module may import its own layer or any lower one.
WING_LAYERS = {"runtime": 1, "measure": 2, "results": 3, "labs": 4, "learning": 4, "commands": 6}
# The top-level modules that run a whole command's work (above the wings they combine).
RUNS = {"runner", "compare", "loadtest", "verification", "doctor"}
ENTRY = {"cli", "__main__"}
# Declarations every layer may import: the documents' keys are the contract each producer, in
# whatever wing, is typed against. They import nothing of labctl when they run (tested below).
DECLARATIONS = {"labctl.results.documents"}
MAX_TOP_LEVEL_MODULES = 16


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")[1:]
    if not parts or module in DECLARATIONS:
        return 0
    if len(parts) > 1 or (PACKAGE / parts[0]).is_dir():   # a wing, or a module in one
        return WING_LAYERS.get(parts[0], 0)
    if parts[0] in RUNS:
        return 5
    if parts[0] in ENTRY:
        return 7
    return 0


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text()), package, modules) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_labctl():
    assert cycles(import_graph()) == []


def test_imports_only_run_down_the_layers():
    upward = [f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
              for module, targets in sorted(import_graph().items()) for target in sorted(targets)
              if layer(target) > layer(module)]
    assert upward == []


def test_the_declarations_import_nothing_of_labctl_when_they_run():
    for module in DECLARATIONS:
        assert import_graph()[module] == set()


def test_the_top_level_stays_small():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_every_module_opens_with_a_sentence_saying_what_it_is():
    silent = [module_name(p) for p in PACKAGE.rglob("*.py")
              if "_data" not in p.parts and p.stat().st_size
              and not ast.get_docstring(ast.parse(p.read_text()))]
    assert silent == []
