"""`_include` and `_revinclude` (with `:iterate`) over the resources of one page.

Reading of the IG (deliberate, documented): a non-iterate directive applies to the matches AND
to what the directives written before it added. The IG's standard set (§1.5) ends with
`_revinclude=PractitionerRole:service&_include=PractitionerRole:practitioner` and says it
includes "les Practitioner référencés par PractitionerRole": under the strict R4 reading that
last `_include` would apply to the HealthcareService matches only and include nothing.
`:iterate` directives then repeat over everything included until nothing new comes in.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from harness.refserver.search.registry import Registry, SearchParam
from harness.refserver.search.sql import SqlBuilder


@dataclass
class Directive:
    text: str
    reverse: bool
    iterate: bool
    source: str
    param: SearchParam
    target: str | None


def parse_directive(registry: Registry, name: str, value: str) -> Directive | str:
    """A directive, or the reason it cannot be applied (reported as ignored)."""
    base, _, modifier = name.partition(":")
    if modifier not in ("", "iterate", "recurse"):
        return f"unknown modifier :{modifier} on {base}"
    parts = value.split(":")
    if len(parts) not in (2, 3) or "*" in parts:
        return f"{value!r} is not Type:parameter[:TargetType] (wildcards are not supported)"
    source, pname = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in registry.resource_types:
        return f"{source!r} is not a resource type served here (names are case-sensitive)"
    param = registry.get(source, pname)
    if param is None or param.type != "reference":
        return f"{source}:{pname} is not a reference search parameter"
    if target is not None and (target not in registry.resource_types
                               or (param.targets and target not in param.targets)):
        return f"{source}:{pname} does not point to {target}"
    return Directive(f"{name}={value}", base == "_revinclude", bool(modifier), source, param, target)


class Includer:
    """Runs directives for one page; returns the included rids with their types, in order."""

    def __init__(self, conn: sqlite3.Connection, sql: SqlBuilder) -> None:
        self.conn = conn
        self.sql = sql

    def run(self, matches: dict[int, str], directives: list[Directive]) -> dict[int, str]:
        known = dict(matches)
        included: dict[int, str] = {}

        def apply(directive: Directive) -> bool:
            found = self._apply(directive, known)
            new = {rid: t for rid, t in found.items() if rid not in known}
            known.update(new)
            included.update(new)
            return bool(new)

        for directive in directives:
            if not directive.iterate:
                apply(directive)
        iterating = [d for d in directives if d.iterate]
        while iterating and any([apply(d) for d in iterating]):
            pass
        return included

    def _apply(self, d: Directive, known: dict[int, str]) -> dict[int, str]:
        if d.reverse:
            targets = [rid for rid, t in known.items()
                       if (d.target is None or t == d.target) and (not d.param.targets or t in d.param.targets)]
            if not targets:
                return {}
            out: dict[int, str] = {}
            for target_type in sorted({known[rid] for rid in targets}):
                ids = json.dumps([rid for rid in targets if known[rid] == target_type])
                sql = f"SELECT DISTINCT r.rid {self.sql.targets_of(d.param, target_type)} " \
                      "AND t.rid IN (SELECT value FROM json_each(?))"
                args = [ids]
                canonical = self.sql.canonical_targets(d.param, target_type)
                if canonical:
                    sql += f" UNION SELECT r.rid {canonical} AND u.rid IN (SELECT value FROM json_each(?))"
                    args.append(ids)
                out.update({rid: d.source for (rid,) in self.conn.execute(sql, args)})
            return out
        sources = json.dumps([rid for rid, t in known.items() if t == d.source])
        out = {}
        targets = [d.target] if d.target else (list(d.param.targets) or sorted(set(known.values())))
        for target_type in targets:
            if target_type not in self.sql.served:
                continue
            sql = f"SELECT DISTINCT t.rid {self.sql.targets_of(d.param, target_type)} " \
                  "AND r.rid IN (SELECT value FROM json_each(?))"
            args = [sources]
            canonical = self.sql.canonical_targets(d.param, target_type)
            if canonical:
                sql += f" UNION SELECT u.rid {canonical} AND r.rid IN (SELECT value FROM json_each(?))"
                args.append(sources)
            out.update({rid: target_type for (rid,) in self.conn.execute(sql, args)})
        return out
