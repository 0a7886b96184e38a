"""Checks that SQL names the city of every distributed table it touches (zhiwang.common.distribution).

`unrouted(sql)` parses a statement with PostgreSQL's own parser (pglast) and returns the distributed
tables in it whose distribution column is not pinned to constants: by ``key = constant``, ``key IN
(constants)``, ``key = ANY(parameter)``, or by equality with another pinned key, in the WHERE clause
or an inner join's condition of the same query block. Every query block (subqueries, CTEs, each side
of a UNION) is checked on its own. An INSERT must give the key a value; UPDATE and DELETE must pin it.
This is what Citus needs to send a query to the nodes of named cities rather than to all of them.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Iterator
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, JoinType

from zhiwang.common.distribution import DISTRIBUTED

CONSTANT = "<constant>"


def _placeholders(sql: str) -> str:
    """Django's ``%s`` placeholders as PostgreSQL's ``$n`` (``%%`` is a literal percent sign)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return re.sub(r"%%|%s", number, sql)


class _Block:
    """One query block: its range variables and what its conditions pin."""

    def __init__(self, outer: dict[str, str]) -> None:
        self.tables: dict[str, str] = {}  # name in the block (alias or table) -> table
        self.outer = outer  # pinned distributed tables of the enclosing blocks, by name
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        while self.parent.get(item, item) != item:
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def column(self, node: Any) -> str | None:
        """`alias.key` for a reference to a distributed table's key, else None."""
        while isinstance(node, ast.TypeCast):
            node = node.arg
        if not isinstance(node, ast.ColumnRef):
            return None
        names = [f.sval for f in node.fields if isinstance(f, ast.String)]
        if len(names) == 1 and len(self.tables) == 1:
            names = [next(iter(self.tables)), names[0]]
        if len(names) < 2:
            return None
        owner, col = names[-2], names[-1]
        table = self.tables.get(owner)
        if table is None and owner in self.outer:  # a correlated reference to a pinned outer key
            return CONSTANT if DISTRIBUTED.get(self.outer[owner]) == col else None
        if table is None or DISTRIBUTED.get(table) != col:
            return None
        return owner

    def pin(self, condition: Any) -> None:
        if isinstance(condition, ast.BoolExpr):
            if condition.boolop == BoolExprType.AND_EXPR:
                for arg in condition.args:
                    self.pin(arg)
            return
        if not isinstance(condition, ast.A_Expr) or [n.sval for n in condition.name] != ["="]:
            return
        left, right = self.column(condition.lexpr), self.column(condition.rexpr)
        if condition.kind == A_Expr_Kind.AEXPR_OP:
            if left and right:
                self.union(left, right)
            elif left and _constant(condition.rexpr):
                self.union(left, CONSTANT)
            elif right and _constant(condition.lexpr):
                self.union(right, CONSTANT)
        elif condition.kind == A_Expr_Kind.AEXPR_IN and left:
            if all(_constant(item) for item in condition.rexpr):
                self.union(left, CONSTANT)
        elif condition.kind == A_Expr_Kind.AEXPR_OP_ANY and left and _constant(condition.rexpr):
            self.union(left, CONSTANT)

    def pinned(self) -> dict[str, str]:
        found = {
            n: t for n, t in self.tables.items() if t in DISTRIBUTED and self.find(n) == self.find(CONSTANT)
        }
        return {**self.outer, **found}

    def unpinned(self) -> list[str]:
        return sorted(
            table
            for name, table in self.tables.items()
            if table in DISTRIBUTED and self.find(name) != self.find(CONSTANT)
        )


def _constant(node: Any) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_ArrayExpr):
        return all(_constant(e) for e in node.elements or ())
    return isinstance(node, ast.A_Const | ast.ParamRef)


def _from_items(items: Any, block: _Block, conditions: list[Any], nested: list[Any]) -> None:
    for item in items or ():
        if isinstance(item, ast.RangeVar):
            block.tables[item.alias.aliasname if item.alias else item.relname] = item.relname
        elif isinstance(item, ast.JoinExpr):
            _from_items([item.larg, item.rarg], block, conditions, nested)
            if item.quals is not None:
                # The condition of an outer join ties its tables together but filters nothing on
                # the preserved side; equalities between keys still pin the joined side.
                if item.jointype == JoinType.JOIN_INNER:
                    conditions.append(item.quals)
                else:
                    conditions.append(_key_equalities(item.quals))
        elif isinstance(item, ast.RangeSubselect):
            nested.append(item.subquery)
        elif item is not None:
            nested.append(item)


def _key_equalities(condition: Any) -> Any:
    if isinstance(condition, ast.BoolExpr) and condition.boolop == BoolExprType.AND_EXPR:
        return ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=[_key_equalities(a) for a in condition.args])
    if (
        isinstance(condition, ast.A_Expr)
        and isinstance(condition.lexpr, ast.ColumnRef)
        and isinstance(condition.rexpr, ast.ColumnRef)
    ):
        return condition
    return None


def _sublinks(node: Any) -> Iterator[Any]:
    """The subqueries inside an expression tree (not descending into them)."""
    if isinstance(node, ast.SubLink):
        yield node.subselect
        yield from _sublinks(node.testexpr)
        return
    if isinstance(node, tuple | list):
        for item in node:
            yield from _sublinks(item)
    elif isinstance(node, ast.Node):
        for name in node:
            yield from _sublinks(getattr(node, name))


def _check(statement: Any, outer: dict[str, str] | None = None) -> list[str]:
    problems: list[str] = []
    outer = outer or {}
    if statement is None:
        return problems
    if isinstance(statement, ast.SelectStmt):
        if statement.withClause:
            for cte in statement.withClause.ctes:
                problems += _check(cte.ctequery, outer)
        if statement.op and statement.op.value:  # UNION / INTERSECT / EXCEPT
            return problems + _check(statement.larg, outer) + _check(statement.rarg, outer)
        block, conditions, nested = _Block(outer), [statement.whereClause], []
        _from_items(statement.fromClause, block, conditions, nested)
        expressions = [statement.targetList, statement.whereClause, statement.havingClause]
        expressions += [statement.valuesLists]
    elif isinstance(statement, ast.InsertStmt):
        table = statement.relation.relname
        key = DISTRIBUTED.get(table)
        columns = [c.name for c in statement.cols or ()]
        if key and key not in columns:
            problems.append(f"{table} (INSERT without {key})")
        return problems + _check(statement.selectStmt, outer)
    elif isinstance(statement, ast.UpdateStmt | ast.DeleteStmt):
        block, conditions, nested = _Block(outer), [statement.whereClause], []
        _from_items([statement.relation], block, conditions, nested)
        extra = statement.fromClause if isinstance(statement, ast.UpdateStmt) else statement.usingClause
        _from_items(extra, block, conditions, nested)
        expressions = [statement.whereClause]
        if isinstance(statement, ast.UpdateStmt):
            expressions.append(statement.targetList)
    else:
        return problems
    for condition in conditions:
        if condition is not None:
            block.pin(condition)
    problems += block.unpinned()
    for query in nested:  # subqueries in FROM see nothing of this block
        problems += _check(query, outer)
    for query in _sublinks(expressions):
        problems += _check(query, block.pinned())
    return problems


def unrouted(sql: str) -> list[str]:
    """The distributed tables of `sql` whose city is not pinned (empty: Citus can route it)."""
    return list(_unrouted(sql))


@functools.lru_cache(maxsize=50_000)
def _unrouted(sql: str) -> tuple[str, ...]:
    # Statements repeat with other parameters: each text is parsed once.
    problems: list[str] = []
    for raw in parse_sql(_placeholders(sql)):
        problems += _check(raw.stmt)
    return tuple(problems)


# --- recording what the application issues while the tests make requests ---------------------


class Recorder:
    """Collects, per test, the statements issued while serving a request that leave a distributed
    table's city unpinned. Requests by a superuser are left out: their reads span every city."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._pending: list[str] = []

    def wrapper(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            problems = unrouted(sql)
        except Exception as exc:
            problems = [f"unparsed ({exc})"]
        if problems:
            self._pending.append(f"{', '.join(problems)} at {_caller()}: {sql[:300]}")
        return execute(sql, params, many, context)

    def finish(self, request: Any) -> None:
        pending, self._pending = self._pending, []
        if not pending or request is None:
            return
        for user in (getattr(request, "auth", None), getattr(request, "user", None)):
            if getattr(user, "is_superuser", False):
                return
        self.found += [f"{request.method} {request.path}: {line}" for line in pending]


def _caller() -> str:
    """The innermost frame of the application's own code that issued the statement."""
    for frame in reversed(traceback.extract_stack()):
        if "/zhiwang/" in frame.filename and "/tests/" not in frame.filename:
            return f"{frame.filename.rsplit('/zhiwang/', 1)[1]}:{frame.lineno}"
    return "?"


RECORDER = Recorder()


def install() -> None:
    """Wrap the test client's handler so every request it serves on PostgreSQL is recorded."""
    from django.db import connection
    from django.test.client import ClientHandler

    original = ClientHandler.__call__
    if getattr(original, "_zhiwang_recorded", False):
        return

    def recorded(self: Any, environ: Any) -> Any:
        if connection.vendor != "postgresql":
            return original(self, environ)
        with connection.execute_wrapper(RECORDER.wrapper):
            response = original(self, environ)
        RECORDER.finish(getattr(response, "wsgi_request", None))
        return response

    recorded._zhiwang_recorded = True  # type: ignore[attr-defined]
    ClientHandler.__call__ = recorded  # type: ignore[method-assign]
