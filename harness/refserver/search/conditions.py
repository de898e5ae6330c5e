"""The parsed form of a search: a tree of conditions on one resource type.

URL parameters (`query.py`) and `_filter` expressions (`filter.py`) both parse into these;
`sql.py` turns them into SQL. Keeping one tree for both is what makes `_filter=(x eq 1)` and
`x=1` mean the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.refserver.search.registry import SearchParam


@dataclass
class Leaf:
    """One parameter with its modifier and its OR-ed values (`specialty=a,b`)."""

    param: SearchParam
    modifier: str | None
    values: list[str]


@dataclass
class Chain:
    """`ref.inner`: resources whose reference `ref` points to a target matching `inner`.

    `above`: the ROR reading of `organization.x:above` / `organization:above.x`: the target or
    any resource above it in its `partof` hierarchy matches.
    """

    ref: SearchParam
    target_type: str
    inner: Condition
    above: bool = False


@dataclass
class Has:
    """`_has:Source:ref:inner`: resources referenced (by `ref`) from a Source matching `inner`."""

    resource_type: str
    source_type: str
    ref: SearchParam
    inner: Condition


@dataclass
class Near:
    """Within `km` of a point: `near` (Location.position) or `near-insee-code` (commune points)."""

    param: SearchParam
    lat: float
    lon: float
    km: float
    commune: str | None = None


@dataclass
class AllOf:
    items: list[Condition]


@dataclass
class AnyOf:
    items: list[Condition]


@dataclass
class Negation:
    resource_type: str
    item: Condition


Condition = Leaf | Chain | Has | Near | AllOf | AnyOf | Negation
