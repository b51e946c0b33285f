"""The package's layers import downward only, and nothing but the public API sits at its root
(the layout of README "Architecture"; data flows one way, no circle)."""

import ast
import pathlib

import ns_implicit

PACKAGE = pathlib.Path(ns_implicit.__file__).parent

#: Bottom to top. A module may import from its own layer and the layers below it.
LAYERS = [
    {"_jit", "_validation", "_threads", "_parallel", "_version", "errors"},
    {"data"},
    {"kernels"},
    {"operators"},
    {"steps"},
    {"maps"},
    {"solvers"},
    {"methods"},
    {"theory"},
    {"bilevel"},
    {"problems"},
    {"experiments", "testing", "tuning"},
    {"cli"},
    {"__init__", "__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _top(module):
    """``ns_implicit.maps.composite`` -> ``maps``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def test_every_package_module_belongs_to_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.glob("*")
            if p.name != "__pycache__"}
    assert tops <= set(RANK), sorted(tops - set(RANK))


def test_no_module_imports_from_a_higher_layer():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        here = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for module in _imports(path):
            if module == "ns_implicit" or module.startswith("ns_implicit."):
                there = _top(module)
                if RANK[there] > RANK[here]:
                    bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


def test_package_root_holds_only_the_public_api():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert all(n in ("__init__.py", "__main__.py", "errors.py") or n.startswith("_")
               for n in root), root
