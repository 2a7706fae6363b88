"""The dependency direction of docs/design.md, read from the source: every import, also those inside functions.

``isa`` (the generator layer) imports none of the packages built on it; ``firmware`` and
``baselines`` sit on ``isa`` and import neither ``sim`` nor each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAY_NOT_IMPORT = {
    "isa": {"firmware", "baselines", "sim", "rtl"},
    "firmware": {"baselines", "sim", "rtl"},
    "baselines": {"firmware", "sim", "rtl"},
}


def _imported_packages(path: Path) -> set[str]:
    """The top-level packages ``path`` imports by absolute name (relative imports stay in its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", list(MAY_NOT_IMPORT))
def test_a_layer_never_imports_what_is_built_on_it(package):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"{package}/ has no modules"
    wrong = {str(p.relative_to(ROOT)): sorted(_imported_packages(p) & MAY_NOT_IMPORT[package]) for p in modules}
    assert {name: pkgs for name, pkgs in wrong.items() if pkgs} == {}
