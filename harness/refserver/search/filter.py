"""The `_filter` parameter: the subset of the FHIR filter grammar that the ROR IG examples use.

Grammar: `expr := and ('or' and)*`, `and := unary ('and' unary)*`, `unary := 'not' unary |
'(' expr ')' | test`, `test := path op value`, keywords case-insensitive (the IG writes `OR`).
`path` is any URL parameter name (chains, `_has`, modifiers). Values are quoted (`"x"`) or bare.

One IG extension, used by ST1-S1bis, ST1-S3, ST1-S5 and ST3-S9: after `or`, a value alone repeats
the previous path and operator: `(_id eq 140 or 141)` = `(_id eq 140 or _id eq 141)`.

Operators map to the plain search semantics of the parameter (so `_filter=(x eq v)` and `x=v`
match the same resources): `eq` as the plain parameter (for strings: starts with, as ST1-S1bis's
"codes postaux commençant par" needs), `ne` as its negation, `gt lt ge le sa eb ap` as prefixes
(date, number, quantity), `co` `sw` `ew` on strings, `pr true|false` as `:missing=false|true`.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from harness.refserver.search.conditions import AllOf, AnyOf, Condition, Leaf, Negation
from harness.refserver.search.errors import SearchError

OPERATORS = {"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "ap", "sa", "eb", "pr", "po", "ss", "sb",
             "in", "ni", "re"}
UNSUPPORTED = {"po", "ss", "sb", "in", "ni", "re"}
_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|"(?P<q>(?:[^"\\]|\\.)*)"|(?P<w>[^\s()"]+))')

#: builds the condition for (resource type, parameter name, value) like a URL parameter would
Build = Callable[[str, str], Condition]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise SearchError(f"_filter: cannot read {text[pos:pos + 20]!r}", parameter="_filter")
        kind = match.lastgroup
        value = match.group(kind)
        out.append(("q" if kind == "q" else kind, value.replace('\\"', '"') if kind == "q" else value))
        pos = match.end()
    return out


class FilterParser:
    """Parses one `_filter` value into a condition on `resource_type`."""

    def __init__(self, resource_type: str, build: Build) -> None:
        self.resource_type = resource_type
        self.build = build
        self.toks: list[tuple[str, str]] = []
        self.i = 0
        self.last: tuple[str, str] | None = None

    def parse(self, text: str) -> Condition:
        self.toks, self.i = _tokens(text), 0
        if not self.toks:
            raise SearchError("_filter: empty expression", parameter="_filter")
        cond = self.expr()
        if self.i != len(self.toks):
            raise SearchError(f"_filter: unexpected {self.toks[self.i][1]!r}", parameter="_filter")
        return cond

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "w" and tok[1].lower() == word:
            self.i += 1
            return True
        return False

    def expr(self) -> Condition:
        items = [self.conj()]
        while self.keyword("or"):
            items.append(self.value_only() or self.conj())
        return items[0] if len(items) == 1 else AnyOf(items)

    def conj(self) -> Condition:
        items = [self.unary()]
        while self.keyword("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else AllOf(items)

    def unary(self) -> Condition:
        if self.keyword("not"):
            return Negation(self.resource_type, self.unary())
        tok = self.peek()
        if tok is None:
            raise SearchError("_filter: expression ends too early", parameter="_filter")
        if tok[0] == "lp":
            self.i += 1
            cond = self.expr()
            if self.peek() is None or self.peek()[0] != "rp":
                raise SearchError("_filter: missing ')'", parameter="_filter")
            self.i += 1
            return cond
        return self.test()

    def value_only(self) -> Condition | None:
        """The IG shorthand `... or "29"`: a value alone after `or` repeats the last test."""
        tok = self.peek()
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        alone = tok is not None and (tok[0] == "q" or (
            tok[0] == "w" and not (nxt and nxt[0] == "w" and nxt[1].lower() in OPERATORS)))
        if not alone or self.last is None or tok[1].lower() == "not":
            return None
        self.i += 1
        return self.make(self.last[0], self.last[1], tok[1])

    def test(self) -> Condition:
        path = self.peek()
        if path[0] != "w":
            raise SearchError(f"_filter: expected a parameter name, found {path[1]!r}", parameter="_filter")
        self.i += 1
        op = self.peek()
        if op is None or op[0] != "w" or op[1].lower() not in OPERATORS:
            found = op[1] if op else "the end"
            raise SearchError(f"_filter: expected an operator (eq, ne, gt, ...) after {path[1]!r}, found "
                              f"{found!r}", parameter="_filter")
        self.i += 1
        value = self.peek()
        if value is None or value[0] not in ("q", "w"):
            raise SearchError(f"_filter: {path[1]} {op[1]} needs a value", parameter="_filter")
        self.i += 1
        self.last = (path[1], op[1].lower())
        return self.make(path[1], op[1].lower(), value[1])

    def make(self, path: str, op: str, value: str) -> Condition:
        if op in UNSUPPORTED:
            raise SearchError(f"_filter: operator {op} is not supported", code="not-supported", parameter="_filter")
        if op == "pr":
            if value not in ("true", "false"):
                raise SearchError("_filter: pr takes true or false", parameter="_filter")
            return self.build(f"{path}:missing", "false" if value == "true" else "true")
        escaped = value.replace("\\", "\\\\").replace(",", "\\,")
        if op in ("co", "sw", "ew"):
            return self._string_op(path, op, escaped)
        cond = self.build(path, escaped if op in ("eq", "ne") else op + escaped)
        if op in ("eq", "ne"):
            target = _leaf_of(cond)
            if op == "ne":
                if target is not None and target.param.type in ("date", "number", "quantity"):
                    return self.build(path, "ne" + escaped)
                return Negation(self.resource_type, cond)
            return cond
        target = _leaf_of(cond)
        if target is None or target.param.type not in ("date", "number", "quantity"):
            raise SearchError(f"_filter: {op} applies to dates, numbers and quantities, not to {path}",
                              parameter="_filter")
        return cond

    def _string_op(self, path: str, op: str, value: str) -> Condition:
        if op == "sw":
            cond = self.build(path, value)
        else:
            cond = self.build(f"{path}:contains", value)
        target = _leaf_of(cond)
        if target is None or target.param.type != "string":
            raise SearchError(f"_filter: {op} applies to string parameters, not to {path}", parameter="_filter")
        if op == "ew":
            target.modifier = "ends-with"
        return cond


def _leaf_of(cond: Condition) -> Leaf | None:
    """The innermost parameter of a condition (through chains and _has), to check types."""
    while not isinstance(cond, Leaf):
        inner = getattr(cond, "inner", None)
        if inner is None:
            return None
        cond = inner
    return cond
