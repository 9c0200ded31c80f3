"""SQL in geo/store/ is never assembled from anything but allowed constants (see geo/store/sql.py).

An f-string is SQL when it is given to ``text()``, ``execute()`` or ``copy()`` (at any depth of
the argument), or when its text holds SELECT, INSERT, UPDATE, DELETE, CREATE, DROP or COPY. Such
an f-string may interpolate only ``fragment(...)`` (the allow-list checked at run time) or an
UPPER_CASE constant of its module. The same holds for SQL put together with ``str.format``,
``%`` or ``+``: the f-string rule would mean nothing if these were free.

The checker reads a path and a source text, so the synthetic snippets below prove each rule can
fail before the real test runs it over geo/store/.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STORE = REPO / "geo" / "store"

SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|COPY)\b")
SQL_CALLS = frozenset({"text", "execute", "executemany", "exec_driver_sql", "copy"})
CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, order=True)
class Violation:
    """A piece of SQL built from something that is not an allowed constant, where it is."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def module_constants(tree: ast.Module) -> set[str]:
    """UPPER_CASE names bound at module level (assigned or imported), in ``if``/``try`` blocks too."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, ast.If | ast.Try):
                for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                              *[handler.body for handler in getattr(node, "handlers", [])]):
                    visit(block)
            for target in targets:
                names.update(name.id for name in ast.walk(target) if isinstance(name, ast.Name))

    visit(tree.body)
    return {name for name in names if CONSTANT.fullmatch(name)}


def call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


@dataclass(frozen=True)
class Names:
    """What a module may interpolate: its UPPER_CASE constants, and the modules it imports whole
    (for ``module.CONSTANT``)."""

    constants: frozenset[str]
    modules: frozenset[str]


def allowed(node: ast.expr, names: Names) -> bool:
    """``fragment(...)``, an UPPER_CASE module constant (or ``module.CONSTANT``), or a plain string."""
    if isinstance(node, ast.Call):
        return call_name(node) == "fragment"
    if isinstance(node, ast.Name):
        return node.id in names.constants
    if isinstance(node, ast.Attribute):
        return (CONSTANT.fullmatch(node.attr) is not None and isinstance(node.value, ast.Name)
                and node.value.id in names.modules)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def interpolations(node: ast.JoinedStr) -> list[ast.expr]:
    """The expressions an f-string puts into its text, those of nested format specs too."""
    found = []
    for value in node.values:
        if isinstance(value, ast.FormattedValue):
            found.append(value.value)
            if isinstance(value.format_spec, ast.JoinedStr):
                found += interpolations(value.format_spec)
    return found


def literal_text(node: ast.JoinedStr) -> str:
    return "".join(value.value for value in node.values if isinstance(value, ast.Constant))


def looks_like_sql(node: ast.AST, sql_names: set[str]) -> bool:
    """A string expression that is SQL text: a constant or f-string holding an SQL keyword, a name
    bound to one, or a sum, choice, lookup or ``format`` of such (not any expression that merely
    uses one, such as the result of executing it)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and SQL_WORDS.search(node.value) is not None
    if isinstance(node, ast.JoinedStr):
        return SQL_WORDS.search(literal_text(node)) is not None
    if isinstance(node, ast.Name):
        return node.id in sql_names
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return looks_like_sql(node.left, sql_names) or looks_like_sql(node.right, sql_names)
    if isinstance(node, ast.IfExp):
        return looks_like_sql(node.body, sql_names) or looks_like_sql(node.orelse, sql_names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return looks_like_sql(node.func.value, sql_names)
    if isinstance(node, ast.Subscript):
        return looks_like_sql(node.value, sql_names)
    if isinstance(node, ast.Dict):
        return any(looks_like_sql(value, sql_names) for value in node.values)
    if isinstance(node, ast.Tuple | ast.List):
        return any(looks_like_sql(element, sql_names) for element in node.elts)
    return False


def sql_bound_names(tree: ast.Module) -> set[str]:
    """Names assigned (anywhere in the module) a value that looks like SQL, to a fixed point."""
    names: set[str] = set()
    assignments = [(target.id, node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   for target in node.targets if isinstance(target, ast.Name)]
    assignments += [(node.target.id, node.value) for node in ast.walk(tree)
                    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value]
    while True:
        more = {name for name, value in assignments if name not in names and looks_like_sql(value, names)}
        if not more:
            return names
        names |= more


def violations(path: str, source: str) -> tuple[list[Violation], list[Violation]]:
    """(f-strings that break the rule, SQL built with ``str.format``, ``%`` or ``+`` that breaks it)."""
    tree = ast.parse(source, path)
    names = Names(frozenset(module_constants(tree)), frozenset(
        (alias.asname or alias.name).split(".")[0] for node in tree.body if isinstance(node, ast.Import)
        for alias in node.names))
    sql_names = sql_bound_names(tree)
    given_to_sql: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and call_name(node) in SQL_CALLS:
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                given_to_sql.update(id(part) for part in ast.walk(argument) if isinstance(part, ast.JoinedStr))

    nested = {id(spec) for node in ast.walk(tree) if isinstance(node, ast.FormattedValue)
              for spec in [node.format_spec] if spec is not None}
    f_strings: list[Violation] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr) or id(node) in nested:
            continue
        if id(node) not in given_to_sql and not SQL_WORDS.search(literal_text(node)):
            continue
        for value in interpolations(node):
            if not allowed(value, names):
                f_strings.append(Violation(path, value.lineno, f"f-string SQL interpolates {{{ast.unparse(value)}}}: "
                                           "only fragment(...) or an UPPER_CASE module constant"))

    assembled: list[Violation] = []
    inner_sums = {id(operand) for node in ast.walk(tree) if is_sum(node)
                  for operand in (node.left, node.right) if is_sum(operand)}
    for node in ast.walk(tree):
        pieces: list[ast.expr] = []
        how = ""
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
                and looks_like_sql(node.func.value, sql_names)):
            pieces, how = [*node.args, *(keyword.value for keyword in node.keywords)], "str.format"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and looks_like_sql(node.left, sql_names):
            right = node.right
            pieces, how = (list(right.elts) if isinstance(right, ast.Tuple) else [right]), "%"
        elif is_sum(node) and id(node) not in inner_sums and looks_like_sql(node, sql_names):
            pieces, how = terms(node), "+"
        for piece in pieces:
            if not safe_piece(piece, names):
                assembled.append(Violation(path, piece.lineno, f"SQL built with {how} from {ast.unparse(piece)}: "
                                           "only fragment(...) or an UPPER_CASE module constant"))
    return f_strings, assembled


def is_sum(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)


def terms(node: ast.expr) -> list[ast.expr]:
    """The operands of ``a + b + c`` (one level of parentheses or many)."""
    return [*terms(node.left), *terms(node.right)] if isinstance(node, ast.BinOp) and is_sum(node) else [node]


def safe_piece(node: ast.expr, names: Names) -> bool:
    """A piece of SQL assembled with ``+``/``%``/``format`` that is safe: allowed, an f-string of
    allowed parts, a choice between safe pieces, a sum of them, or one formatted from them."""
    if allowed(node, names):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(allowed(value, names) for value in interpolations(node))
    if isinstance(node, ast.IfExp):
        return safe_piece(node.body, names) and safe_piece(node.orelse, names)
    if is_sum(node):
        return all(safe_piece(term, names) for term in terms(node))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return safe_piece(node.func.value, names) and all(
            safe_piece(argument, names) for argument in [*node.args, *(keyword.value for keyword in node.keywords)])
    return False


def store_sources() -> dict[str, str]:
    return {path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8") for path in sorted(STORE.rglob("*.py"))}


def report(found: list[Violation]) -> str:
    return f"{len(found)} violation(s):\n" + "\n".join(str(item) for item in sorted(set(found)))


# --- the repository ---------------------------------------------------------------------------

def test_sql_f_strings_interpolate_only_fragments_and_constants() -> None:
    found = [item for path, source in store_sources().items() for item in violations(path, source)[0]]
    assert not found, report(found)


def test_sql_is_not_put_together_with_format_percent_or_plus() -> None:
    found = [item for path, source in store_sources().items() for item in violations(path, source)[1]]
    assert not found, report(found)


def test_the_store_is_read() -> None:
    files = store_sources()
    assert {"geo/store/sql.py", "geo/store/counting.py", "geo/store/db.py"} <= set(files)
    assert violations("geo/store/counting.py", files["geo/store/counting.py"]) == ([], [])


# --- the checker can fail: each snippet breaks the rule once -------------------------------------

F_STRING_BREAKS = [
    ("name into text()", 'def f(s, name):\n    s.execute(text(f"DROP INDEX {name}"))\n', 2, "{name}"),
    ("keyword SQL in a variable", 'def f(t):\n    q = f"SELECT * FROM {t}"\n    return q\n', 2, "{t}"),
    ("no keyword, given to text()", 'def f(col):\n    return text(f"{col} = :v")\n', 2, "{col}"),
    ("given to execute() through +", 'def f(c, w):\n    c.execute("x" + f"{w}")\n', 2, "{w}"),
    ("given to a cursor's copy()", 'def f(cur, cols):\n    cur.copy(f"COPY t ({cols}) FROM STDIN")\n', 2, "{cols}"),
    ("a call other than fragment", "def f(cols):\n    return f\"COPY t ({', '.join(cols)}) TO STDOUT\"\n", 2,
     "{', '.join(cols)}"),
    ("an attribute", 'def f(spec):\n    return f"DELETE FROM t WHERE {spec.column} = 1"\n', 2, "{spec.column}"),
    ("a lower-case module name", 'table = "t"\nQ = f"INSERT INTO {table} VALUES (1)"\n', 2, "{table}"),
    ("an upper-case name bound in a function", 'def f():\n    T = "t"\n    return f"UPDATE {T} SET a = 1"\n', 3,
     "{T}"),
    ("a nested format spec", 'W = 5\ndef f(n):\n    return f"CREATE TABLE t{W:>{n}} ()"\n', 3, "{n}"),
    ("raw psycopg", "def f(conn, name):\n    conn.execute(f'CREATE DATABASE \"{name}\"')\n", 2, "{name}"),
]

F_STRING_KEEPS = [
    'from geo.store.sql import fragment\ndef f(a):\n    return text(f"SELECT 1 FROM station {fragment(a)}")\n',
    'from geo.store import sql\ndef f(a):\n    return text(f"SELECT 1 FROM station {sql.fragment(a)}")\n',
    'COLUMNS = "a, b"\n_EXTENT = "x"\nQ = f"COPY t ({COLUMNS}, {_EXTENT}) TO STDOUT"\n',
    'from geo.store.models import STATION_STATUSES\nQ = f"SELECT 1 WHERE s IN {STATION_STATUSES}"\n',
    'def f(n):\n    return f"not an allowed fragment: {n!r}"\n',
    'def f(s):\n    return text("SELECT 1 WHERE a = :a")\n',
]


@pytest.mark.parametrize(("source", "line", "shown"), [case[1:] for case in F_STRING_BREAKS],
                         ids=[case[0] for case in F_STRING_BREAKS])
def test_an_f_string_that_breaks_the_rule_is_caught(source: str, line: int, shown: str) -> None:
    f_strings, _ = violations("geo/store/snippet.py", source)
    expected = [(line, f"f-string SQL interpolates {shown}")]
    assert [(item.line, item.what.split(": ")[0]) for item in f_strings] == expected


@pytest.mark.parametrize("source", F_STRING_KEEPS)
def test_fragments_and_constants_pass(source: str) -> None:
    assert violations("geo/store/snippet.py", source) == ([], [])


ASSEMBLY_BREAKS = [
    ("format of a constant", '_Q = "SELECT {c} FROM t"\ndef f(c):\n    return _Q.format(c=c)\n', 3, "str.format", "c"),
    ("format through a local", '_A = "SELECT {w}"\n_B = "DELETE {w}"\ndef f(k, w):\n'
     '    t = {"a": _A, "b": _B}[k]\n    return t.format(w=w)\n', 5, "str.format", "w"),
    ("percent", 'def f(t):\n    return "DROP TABLE %s" % t\n', 2, "%", "t"),
    ("plus", 'def f(w):\n    return "SELECT 1 FROM t WHERE " + w\n', 2, "+", "w"),
]


@pytest.mark.parametrize(("source", "line", "how", "shown"), [case[1:] for case in ASSEMBLY_BREAKS],
                         ids=[case[0] for case in ASSEMBLY_BREAKS])
def test_sql_put_together_otherwise_is_caught(source: str, line: int, how: str, shown: str) -> None:
    _, assembled = violations("geo/store/snippet.py", source)
    expected = [(line, f"SQL built with {how} from {shown}")]
    assert [(item.line, item.what.split(": ")[0]) for item in assembled] == expected


def test_sql_put_together_from_constants_passes() -> None:
    source = ('from geo.store.sql import fragment\n_Q = "SELECT {c} FROM t"\nCOLS = "a"\n'
              'def f(a):\n    return _Q.format(c=COLS) + " WHERE " + fragment(a) + "ORDER BY 1"\n')
    assert violations("geo/store/snippet.py", source) == ([], [])
