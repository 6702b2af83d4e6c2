"""The layout's rules (README, Layout), checked on the source: a new import that breaks one fails here."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ("scheduling", "messaging", "aftercare")


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
    # A reply's booking actions are scheduling.replies, run by the webhook: the domain depends one way.
    ("scheduler/messaging", ("scheduler.scheduling",)),
])
def test_import_rules(folder, forbidden):
    assert _breaks(folder, forbidden) == []


def test_models_import_nothing_above_them():
    # Only the models' own modules and the `db` they are declared on; core, the domain and the
    # edges all build on the models, never the reverse.
    allowed = ("scheduler.models", "scheduler.extensions")
    found = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("scheduler/models")
             for name in sorted(_imports(path))
             if name.startswith("scheduler") and not any(name == a or name.startswith(a + ".") for a in allowed)]
    assert found == []


def test_test_modules_never_import_each_other():
    # Shared helpers live in tests/support (and fixtures in conftest.py), nowhere else.
    found = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("tests")
             for name in sorted(_imports(path))
             if name.startswith("tests.") and not name.startswith("tests.support")]
    assert found == []


# Names that build SQL: a page asks a domain read instead (scheduling/, messaging/, aftercare/, core/).
SQL_BUILDERS = {"select", "insert", "update", "delete", "func", "text", "and_", "or_", "not_", "exists",
                "case", "literal", "literal_column", "bindparam", "join", "outerjoin", "union", "true", "false",
                "column", "table", "values", "aliased", "selectinload", "joinedload"}
QUERIES = {"execute", "scalar", "scalars", "query", "get", "get_one", "merge"}


def _sql_in(path: Path) -> list[str]:
    """Where a module builds or runs SQL itself: sqlalchemy's builders, or db.session.<query>()."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            out.append(f"{path.name}:{node.lineno} imports sqlalchemy")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            out += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names if a.name in SQL_BUILDERS]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERIES
              and ast.unparse(node.func.value) in ("db.session", "session")):
            out.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}()")
    return out


def test_pages_build_no_sql():
    # Pages do not query: what a page shows comes from domain reads (README, Layout).
    assert [line for path in _modules("scheduler/web") for line in _sql_in(path)] == []


def test_every_form_post_ends_through_submit():
    # One way for a page to take input and end a post (web/posts.py), as the API's audited().
    reads = {"login", "logout", "patient_search", "admin_template_check"}  # sign-in; fragments that change nothing
    missing = []
    for path in _modules("scheduler/web"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef) or node.name in reads:
                continue
            posts = any(isinstance(d, ast.Call) and ast.unparse(d.func) in ("bp.post", "bp.route")
                        for d in node.decorator_list)
            called = {ast.unparse(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
            if posts and not called & {"submit", "_user_action", "_change"}:
                missing.append(f"{path.name}: {node.name}")
            if posts and called & {"db.session.commit", "audit.commit"}:
                missing.append(f"{path.name}: {node.name} commits itself")
    assert missing == []
