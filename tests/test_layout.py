"""The layout's rules (README, Layout), checked on the source: a new import that breaks one fails here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("scheduling", "messaging", "outcomes", "aftercare")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (lazy imports inside functions count too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _breaks(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(ROOT)} imports {name}" for path in _modules(folder)
            for name in sorted(_imports(path))
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("scheduler/api", ("scheduler.web",)),
    ("scheduler/web", ("scheduler.api",)),
    # The domain reaches Flask only through core/ (settings.current() is for edges, so not even that).
    *[(f"scheduler/{area}", ("flask", "flask_login", "flask_wtf", "flask_limiter", "werkzeug")) for area in DOMAIN],
    ("scheduler/models", tuple(f"scheduler.{area}" for area in (*DOMAIN, "api", "web"))),
])
def test_import_rules(folder, forbidden):
    assert _breaks(folder, forbidden) == []


def test_test_modules_never_import_each_other():
    # Shared helpers live in tests/support (and fixtures in conftest.py), nowhere else.
    found = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("tests")
             for name in sorted(_imports(path))
             if name.startswith("tests.") and not name.startswith("tests.support")]
    assert found == []
