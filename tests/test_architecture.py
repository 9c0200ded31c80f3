"""The import rule of the layout (README "How the code is organised", STYLE.md §1), read from the
source with ``ast``: every import of every module of geo/, api/ and maps/, those inside functions
too, and the calls that only the store may make.

Rooms from the bottom up: ``geo.core`` < ``geo.reference`` < ``geo.analysis`` < ``geo.store`` <
``geo.services`` < ``geo.cli`` < ``maps`` < ``api``. A module imports its own room or rooms below
it; ``geo.errors``, ``geo.settings`` and ``geo.notices`` may be imported from anywhere (and
import only each other). On top of that: geo never imports api or maps; maps never imports api
or ``geo.store``; routers and the OGC package never build SQL or commit; nothing outside
``geo/store/`` writes SQL or talks to the database driver.

The checkers take a path and a source text, so the synthetic snippets at the end prove that each
rule can fail, and the real tests run the same checkers over the repository.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "api", "maps")

# importable from anywhere; they import only each other
FREE = ("geo.errors", "geo.settings", "geo.notices")
# bottom to top: a module may import its own room or a room below it
ROOMS = ("geo.core", "geo.reference", "geo.analysis", "geo.store", "geo.services", "geo.cli", "maps", "api")

SQL_BUILDERS = frozenset({"text", "select", "insert", "update", "delete"})
DATABASE_READERS = frozenset({"read_sql", "read_sql_query", "read_sql_table", "read_postgis", "from_postgis"})
EXECUTE = frozenset({"execute", "executemany", "exec_driver_sql"})


@dataclass(frozen=True, order=True)
class Violation:
    """One import or call that breaks a rule, where it is."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


@dataclass(frozen=True)
class Import:
    """A module named by an import statement (or ``importlib.import_module("...")``)."""

    line: int
    module: str       # the module the statement loads
    names: tuple[str, ...]  # what ``from module import ...`` takes from it ("" for a plain import)
    statement: str    # the statement as written, for messages


def module_name(path: str) -> str:
    """``geo/store/db.py`` -> ``geo.store.db``; a package's ``__init__.py`` is the package."""
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room_of(module: str) -> str | None:
    """The room a module belongs to (one of FREE or ROOMS), ``geo`` for the package itself,
    None for a first-party module that is in no room."""
    for name in (*FREE, *ROOMS):
        if module == name or module.startswith(name + "."):
            return name
    return "geo" if module == "geo" else None


def rank(room: str) -> int:
    """0 for the free modules and the ``geo`` package, 1.. for the rooms bottom up."""
    return ROOMS.index(room) + 1 if room in ROOMS else 0


def first_party(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def imports(path: str, tree: ast.AST, known: frozenset[str] = frozenset()) -> list[Import]:
    """Every import in ``tree`` (at any depth), relative ones resolved against ``path``.

    ``from geo import store`` loads ``geo.store`` when that is a module of ``known``.
    """
    own = module_name(path)
    package = own if Path(path).name == "__init__.py" else own.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(node.lineno, alias.name, ("",), f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = tuple(alias.name for alias in node.names)
            statement = f"from {'.' * node.level}{node.module or ''} import {', '.join(names)}"
            submodules = [name for name in names if f"{base}.{name}" in known]
            for name in submodules:
                found.append(Import(node.lineno, f"{base}.{name}", ("",), statement))
            rest = tuple(name for name in names if name not in submodules)
            if rest or not submodules:
                found.append(Import(node.lineno, base, rest, statement))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and dotted(node.func) in {
                  "importlib.import_module", "import_module", "__import__"}):
            module = node.args[0].value
            found.append(Import(node.lineno, module, ("",), f"{dotted(node.func)}({module!r})"))
    return found


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a chain of names and attributes, "" for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def layer_violations(path: str, source: str, known: frozenset[str] = frozenset()) -> list[Violation]:
    """Imports of ``path`` that point up the rooms, or leave the free modules, or reach geo.store from maps."""
    own = module_name(path)
    own_room = room_of(own)
    if own_room is None:
        return [Violation(path, 1, f"{own} is in no room of the layout ({', '.join(ROOMS)}, or {', '.join(FREE)})")]
    found = []
    for item in imports(path, ast.parse(source, path), known):
        if not first_party(item.module):
            continue
        target = room_of(item.module)
        if target is None:
            found.append(Violation(path, item.line, f"{item.statement}: {item.module} is in no room of the layout"))
        elif own_room in FREE and rank(target) > 0:
            found.append(Violation(path, item.line, f"{item.statement}: {own_room} may be imported from anywhere, "
                                                    f"so it imports only {', '.join(FREE)}, not {target}"))
        elif rank(target) > rank(own_room):
            found.append(Violation(path, item.line, f"{item.statement}: {own_room} may not import {target}, "
                                                    f"a room above it"))
        elif own_room == "maps" and target == "geo.store":
            found.append(Violation(path, item.line, f"{item.statement}: maps may not import geo.store "
                                                    "(maps take map data from geo.services)"))
    return found


def sqlalchemy_builder_names(tree: ast.AST) -> tuple[list[tuple[int, str]], set[str]]:
    """The SQL builders imported by name (line, what), and the names bound to sqlalchemy modules."""
    builders: list[tuple[int, str]] = []
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy" and not node.level:
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    builders.append((node.lineno, f"from {node.module} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
    return builders, module_aliases


def builder_attributes(tree: ast.AST, module_aliases: set[str]) -> list[tuple[int, str]]:
    """Uses such as ``sa.text`` or ``sqlalchemy.sql.select`` of a module imported whole."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            name = dotted(node)
            if name and name.split(".")[0] in module_aliases:
                found.append((node.lineno, name))
    return found


def method_calls(tree: ast.AST, methods: frozenset[str]) -> list[tuple[int, str]]:
    """Calls ``<anything>.method(...)`` for the given method names."""
    return [(node.lineno, f".{node.func.attr}(...)") for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods]


def router_violations(path: str, source: str) -> list[Violation]:
    """A router or OGC module that builds SQL or commits (api/routers/*, api/ogc/*)."""
    if not (path.startswith("api/routers/") or path.startswith("api/ogc/")):
        return []
    tree = ast.parse(source, path)
    builders, aliases = sqlalchemy_builder_names(tree)
    built = builders + builder_attributes(tree, aliases)
    found = [Violation(path, line, f"{what}: routers never build SQL") for line, what in built]
    found += [Violation(path, line, f"{what}: routers never commit, the transaction helper does")
              for line, what in method_calls(tree, frozenset({"commit"}))]
    found += [Violation(path, line, f"{what}: routers never execute SQL") for line, what in method_calls(tree, EXECUTE)]
    return found


def store_only_violations(path: str, source: str) -> list[Violation]:
    """SQL builders, psycopg, pandas/geopandas database readers or ``.execute(`` outside geo/store/."""
    if path.startswith("geo/store/"):
        return []
    tree = ast.parse(source, path)
    builders, aliases = sqlalchemy_builder_names(tree)
    outside = "only geo/store/ writes SQL"
    found = [Violation(path, line, f"{what}: {outside}") for line, what in builders + builder_attributes(tree, aliases)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Violation(path, node.lineno, f"import {alias.name}: only geo/store/ talks to the driver")
                      for alias in node.names if alias.name.split(".")[0] == "psycopg"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "psycopg" and not node.level:
            names = ", ".join(alias.name for alias in node.names)
            found.append(Violation(path, node.lineno, f"from {node.module} import {names}: only geo/store/ talks "
                                                      "to the driver"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {"pandas", "geopandas"}:
            found += [Violation(path, node.lineno, f"from {node.module} import {alias.name}: {outside}")
                      for alias in node.names if alias.name in DATABASE_READERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_READERS:
            found.append(Violation(path, node.lineno, f"{dotted(node.func) or '.' + node.func.attr}(...): {outside}"))
    found += [Violation(path, line, f"{what}: {outside}") for line, what in method_calls(tree, EXECUTE)]
    return found


def sources() -> dict[str, str]:
    """Every .py file of geo/, api/ and maps/ by its path relative to the repository."""
    return {path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8")
            for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def known_modules(paths: list[str]) -> frozenset[str]:
    return frozenset(module_name(path) for path in paths)


def report(violations: list[Violation]) -> str:
    return f"{len(violations)} violation(s):\n" + "\n".join(str(item) for item in sorted(set(violations)))


# --- the repository ---------------------------------------------------------------------------

def test_imports_point_down_the_rooms() -> None:
    files = sources()
    known = known_modules(list(files))
    violations = [item for path, source in files.items() for item in layer_violations(path, source, known)]
    assert not violations, report(violations)


def test_routers_never_build_sql_or_commit() -> None:
    violations = [item for path, source in sources().items() for item in router_violations(path, source)]
    assert not violations, report(violations)


def test_only_the_store_writes_sql() -> None:
    violations = [item for path, source in sources().items() for item in store_only_violations(path, source)]
    assert not violations, report(violations)


def test_the_walk_sees_every_package() -> None:
    files = sources()
    for module in ("geo/errors.py", "geo/store/db.py", "geo/cli/__init__.py", "api/app.py", "maps/gaps.py"):
        assert module in files
    assert all(room_of(module_name(path)) is not None for path in ("geo/core/crs.py", "api/routers/home.py"))


# --- the checkers can fail: each snippet breaks one rule ----------------------------------------

KNOWN = frozenset({"geo", "geo.store", "geo.store.db", "geo.store.models", "geo.core", "geo.core.crs",
                   "geo.analysis", "geo.analysis.coverage", "geo.cli", "geo.errors", "geo.notices", "geo.ogc_params",
                   "maps", "maps.gaps", "api", "api.serve", "api.routers", "api.routers.home"})

LAYER_BREAKS = [
    ("geo/core/crs.py", "from geo.store.db import make_engine\n", 1, "geo.core may not import geo.store"),
    ("geo/core/crs.py", "def f():\n    import geo.analysis.coverage\n", 2, "geo.core may not import geo.analysis"),
    ("geo/analysis/coverage.py", "from ..store import models\n", 1, "geo.analysis may not import geo.store"),
    ("geo/analysis/coverage.py", "from geo import store\n", 1, "geo.analysis may not import geo.store"),
    ("geo/store/db.py", "def f():\n    from geo.cli import app\n", 2, "geo.store may not import geo.cli"),
    ("geo/cli/maps.py", "def render():\n    from maps import gaps\n", 2, "geo.cli may not import maps"),
    ("geo/cli/serve.py", "def serve():\n    import api.serve\n", 2, "geo.cli may not import api"),
    ("geo/cli/serve.py", "import importlib\nimportlib.import_module('api.serve')\n", 2, "geo.cli may not import api"),
    ("maps/gaps.py", "from api.routers import home\n", 1, "maps may not import api"),
    ("maps/gaps.py", "from geo.store.models import Station\n", 1, "maps may not import geo.store"),
    ("maps/gaps.py", "import geo.store\n", 1, "maps may not import geo.store"),
    ("geo/errors.py", "from geo.core.crs import WGS84\n", 1, "geo.errors may be imported from anywhere"),
    ("geo/ogc_params.py", "from geo.errors import InputError\n", 1, "geo.ogc_params is in no room"),
    ("geo/core/crs.py", "from geo import ogc_params\n", 1, "geo.ogc_params is in no room"),
]

LAYER_KEEPS = [
    ("geo/store/db.py", "from geo.core import crs\nfrom geo.analysis.coverage import X\nfrom geo.errors import E\n"),
    ("geo/core/crs.py", "from geo.errors import InputError\nfrom geo.settings import Settings\nimport numpy\n"),
    ("geo/cli/__init__.py", "from geo.cli import analysis\nfrom . import registry\nimport geo.store.db\n"),
    ("maps/gaps.py", "from geo.notices import DEMO\nfrom geo.services.map_data import GapMap\n"),
    ("api/cli.py", "from geo.cli import core_app\nfrom maps import gaps\nfrom api.serve import serve\n"),
    ("geo/errors.py", "from geo.notices import DEMO\n"),
]


@pytest.mark.parametrize(("path", "source", "line", "message"), LAYER_BREAKS)
def test_an_import_up_the_rooms_is_caught(path: str, source: str, line: int, message: str) -> None:
    violations = layer_violations(path, source, KNOWN)
    assert [item.line for item in violations] == [line], violations
    assert message in violations[0].what and path == violations[0].path


@pytest.mark.parametrize(("path", "source"), LAYER_KEEPS)
def test_imports_down_the_rooms_pass(path: str, source: str) -> None:
    assert layer_violations(path, source, KNOWN) == []


ROUTER_BREAKS = [
    ("api/routers/home.py", "from sqlalchemy import select, func\n", "from sqlalchemy import select"),
    ("api/routers/home.py", "def f():\n    from sqlalchemy import text\n", "from sqlalchemy import text"),
    ("api/routers/home.py", "import sqlalchemy as sa\nsa.update(t)\n", "sa.update"),
    ("api/routers/home.py", "def f(session):\n    session.commit()\n", ".commit(...)"),
    ("api/ogc/items.py", "def f(connection):\n    connection.execute(q)\n", ".execute(...)"),
]


@pytest.mark.parametrize(("path", "source", "what"), ROUTER_BREAKS)
def test_sql_or_a_commit_in_a_router_is_caught(path: str, source: str, what: str) -> None:
    assert [item.what.split(":")[0] for item in router_violations(path, source)] == [what]


def test_a_router_calling_the_store_passes() -> None:
    source = ("from sqlalchemy.orm import Session\nfrom geo.store import plans\n\n"
              "def f(s: Session):\n    plans.save(s)\n")
    assert router_violations("api/routers/plans.py", source) == []
    assert router_violations("api/app.py", "def f(s):\n    s.commit()\n") == [], "only routers and api/ogc/"


STORE_BREAKS = [
    ("geo/services/registry.py", "from sqlalchemy import insert\n", "from sqlalchemy import insert"),
    ("geo/services/registry.py", "from sqlalchemy.sql.expression import delete\n",
     "from sqlalchemy.sql.expression import delete"),
    ("geo/reference/demo.py", "import sqlalchemy\nq = sqlalchemy.text('SELECT 1')\n", "sqlalchemy.text"),
    ("api/deps.py", "import psycopg\n", "import psycopg"),
    ("api/deps.py", "def f():\n    from psycopg.errors import AdminShutdown\n",
     "from psycopg.errors import AdminShutdown"),
    ("geo/services/map_data.py", "import pandas as pd\ndf = pd.read_sql(q, c)\n", "pd.read_sql(...)"),
    ("geo/services/map_data.py", "import geopandas as gpd\ndf = gpd.read_postgis(q, c)\n", "gpd.read_postgis(...)"),
    ("geo/services/map_data.py", "from geopandas import read_postgis\n", "from geopandas import read_postgis"),
    ("maps/gaps.py", "def f(session):\n    return session.execute(q)\n", ".execute(...)"),
]


@pytest.mark.parametrize(("path", "source", "what"), STORE_BREAKS)
def test_sql_outside_the_store_is_caught(path: str, source: str, what: str) -> None:
    violations = store_only_violations(path, source)
    assert [item.what.split(":")[0] for item in violations] == [what]
    assert re.fullmatch(rf"{re.escape(path)}:\d+: .+", str(violations[0]))


def test_the_same_sql_inside_the_store_passes() -> None:
    source = "import psycopg\nfrom sqlalchemy import select, text\n\ndef f(s):\n    return s.execute(select(T))\n"
    assert store_only_violations("geo/store/stations.py", source) == []
    assert store_only_violations("geo/services/x.py", "from sqlalchemy.orm import Session\n") == []
