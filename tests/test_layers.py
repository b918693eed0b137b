"""The code tells its own rules: layers, no import cycles, no private names across modules.

data <- analysis <- figures <- dashboard; ipywidgets only in the dashboard layer; the command
line (cli, diff, interactive) and serving sit beside the dashboard, not on top of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "explorer"

#: layer of a module -> the layers it may import
ALLOWED = {
    "data": {"data", "base"},
    "analysis": {"analysis", "data", "base"},
    "figures": {"figures", "analysis", "data", "base"},
    "dashboard": {"dashboard", "figures", "analysis", "data", "base"},
    "serving": {"serving", "base"},
    "cli": {"cli", "analysis", "data", "base", "serving"},
    "base": {"base"},
}
WIDGETS = ("ipywidgets", "anywidget")


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("data", "analysis", "figures", "dashboard", "serving"):
        return parts[1]
    if len(parts) > 1 and parts[1] in ("cli", "diff", "interactive", "__main__"):
        return "cli"
    return "base"  # explorer.paths


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        found[name] = path
    return found


def imports(path: Path, name: str) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every import, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


def internal_edges() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, names, _ in imports(path, name):
            if not target.startswith("explorer"):
                continue
            for n in names or [""]:
                full = f"{target}.{n}" if n else target
                edges[name].add(full if full in mods else target)
    return edges


def test_layers_import_only_what_is_below_them() -> None:
    wrong = []
    for name, path in modules().items():
        if name == "explorer":
            continue  # the package's lazy names reach every layer on purpose
        for target, _, line in imports(path, name):
            if target.startswith("explorer.") and layer(target) not in ALLOWED[layer(name)]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {layer(name)} imports {target}")
            if target.split(".")[0] in WIDGETS and layer(name) != "dashboard":
                wrong.append(f"{path.relative_to(ROOT)}:{line}: widgets outside the dashboard layer")
    assert not wrong, wrong


def test_no_import_cycles() -> None:
    edges = internal_edges()
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        for nxt in edges.get(node, ()):
            if nxt in stack:
                cycle = [*stack[stack.index(nxt) :], nxt]
                if all(m not in ("explorer",) for m in cycle):
                    cycles.append(" -> ".join(cycle))
            elif len(stack) < 12:
                visit(nxt, [*stack, nxt])

    for start in edges:
        if start != "explorer" and not start.endswith("__init__"):
            visit(start, [start])
    # a package __init__ importing its own submodules is not a cycle between modules
    cycles = [c for c in cycles if not any(c.startswith(p + " ") for p in ("explorer.data", "explorer.dashboard"))]
    assert not cycles, sorted(set(cycles))[:5]


def test_no_private_name_is_imported_from_another_module() -> None:
    wrong = []
    for name, path in modules().items():
        for target, names, line in imports(path, name):
            if target.startswith("explorer"):
                wrong += [f"{path.relative_to(ROOT)}:{line}: {target}.{n}" for n in names if n.startswith("_")]
    assert not wrong, wrong


#: explorer.data.load: the module keeps its name while the analysis layer imports Evidence from
#: it (explorer.data.load.Evidence); the function ``load`` is the package's first public name.
SHADOWING_KEPT = {"explorer.data.load"}


def test_a_module_path_gives_the_module() -> None:
    """No package re-exports a function under the name of one of its modules."""
    import importlib

    shadowed = []
    for name in modules():
        if "." not in name or name in SHADOWING_KEPT:
            continue
        package, _, leaf = name.rpartition(".")
        value = getattr(importlib.import_module(package), leaf, None)
        if value is not None and not hasattr(value, "__path__") and type(value).__name__ != "module":
            shadowed.append(f"{package}.{leaf} is {value!r}")
    assert not shadowed, shadowed


def test_no_dead_module_level_names() -> None:
    """Every function, class and constant defined at a module's top level is used somewhere:
    in the package, the tests, the benchmarks, the notebooks or the README."""
    import re
    from collections import Counter

    texts = [
        p.read_text(encoding="utf-8")
        for d in ("explorer", "tests", "bench", "notebooks")
        for p in (ROOT / d).rglob("*")
        if p.suffix in (".py", ".ipynb")
    ]
    texts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    # Each text is split into words once: a name's count is then the number of times it occurs as
    # a whole word (what \bname\b finds), without one regular expression per name over every file.
    words = Counter(w for t in texts for w in re.findall(r"\w+", t))
    dead = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                continue
            for name in names:
                if name.startswith("__"):
                    continue
                if words[name] <= 1:  # its definition only
                    dead.append(f"{path.relative_to(ROOT)}: {name}")
    assert not dead, dead


def test_css_and_javascript_live_in_their_own_files() -> None:
    """Style sheets and widget JavaScript are files under a ``static/`` folder, not Python strings
    (an editor lints them, a diff reads them)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "explorer"
    markers = re.compile(r"export default|function\s+\w+\s*\(|\{\s*[a-z-]+\s*:\s*[^;{}]+;\s*[a-z-]+\s*:")
    found = []
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if markers.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()[:80]}")
    assert found == [], found
    assert {p.name for p in (root / "dashboard" / "static").iterdir()} >= {"panel.js", "plot.js", "dashboard.css"}
