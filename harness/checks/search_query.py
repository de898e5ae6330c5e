"""A search query read as the harness judges it: criteria (ANDed, each value ORed), paging and
include parameters; and the verdict of one resource against one criterion.

The server's own answer is never trusted: each criterion's SearchParameter expression is
evaluated with FHIRPath on the returned resource, chains follow the references to the
resources they name (taken from the Bundle, else read from the target).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.checks import search_values as sv
from harness.checks.search_params import CONTROL, Definition, SearchParameters
from harness.fhir.fhirpath import NotEvaluable, default_engine


class Unjudgeable(Exception):
    """The harness cannot judge this criterion at all (French reason): never a failure."""


@dataclass(frozen=True)
class Criterion:
    raw: str  # the parameter as written, e.g. "location.address-postalcode"
    name: str  # the last parameter of the chain
    modifier: str | None
    chain: tuple[tuple[str, str | None], ...]  # reference parameters walked first, with their :Type
    values: tuple[str, ...]  # ORed


@dataclass(frozen=True)
class Include:
    source: str  # resource type holding the reference
    param: str
    target: str | None
    iterate: bool


@dataclass(frozen=True)
class Query:
    resource_type: str
    criteria: tuple[Criterion, ...]
    count: int | None
    includes: tuple[Include, ...]
    revincludes: tuple[Include, ...]


def _split_values(text: str) -> tuple[str, ...]:
    parts, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current += ch if ch in ",|$\\" else "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return tuple(parts)


def _include(value: str, iterate: bool) -> Include | None:
    parts = value.split(":")
    if len(parts) < 2 or parts[1] == "*":
        return None
    return Include(parts[0], parts[1], parts[2] if len(parts) > 2 else None, iterate)


def parse_query(resource_type: str, pairs: list[tuple[str, str]]) -> Query:
    criteria, includes, revincludes, count = [], [], [], None
    for key, value in pairs:
        base, _, modifier = key.partition(":")
        if base == "_count":
            count = int(value) if value.isdigit() else None
        elif base in ("_include", "_revinclude"):
            found = _include(value, modifier == "iterate")
            if found:
                (includes if base == "_include" else revincludes).append(found)
        elif base not in CONTROL:
            links = key.split(".")
            chain = tuple((link.partition(":")[0], link.partition(":")[2] or None) for link in links[:-1])
            name, _, mod = links[-1].partition(":")
            criteria.append(Criterion(key, name, mod or None, chain, _split_values(value)))
    return Query(resource_type, tuple(criteria), count, tuple(includes), tuple(revincludes))


Resolver = Callable[[str], "dict | None"]


class Judge:
    """Verdicts of resources against criteria, with the definitions and a reference resolver."""

    def __init__(self, params: SearchParameters, resolve: Resolver) -> None:
        self.params = params
        self.resolve = resolve
        self.engine = default_engine()

    def verdict(self, resource: dict, criterion: Criterion) -> sv.Verdict:
        """True / False / None for one resource; Unjudgeable when no resource could be judged."""
        if criterion.name.startswith("_has") or criterion.chain and criterion.chain[0][0].startswith("_has"):
            raise Unjudgeable("le chaînage inversé (_has) n'est pas évalué par le banc")
        if criterion.name == "_filter":
            raise Unjudgeable("le paramètre _filter n'est pas évalué par le banc")
        return self._walk(resource, criterion, 0)

    def _walk(self, resource: dict, criterion: Criterion, depth: int) -> sv.Verdict:
        rtype = resource.get("resourceType", "")
        if depth == len(criterion.chain):
            return self._leaf(resource, rtype, criterion)
        link, link_type = criterion.chain[depth]
        definition = self._definition(rtype, link)
        if definition.type != "reference":
            raise Unjudgeable(f"« {link} » n'est pas un paramètre de type référence sur {rtype} : chaînage impossible")
        above = link_type == "above"
        if link_type and not above and not link_type[:1].isupper():
            raise Unjudgeable(f"modificateur « :{link_type} » sur le chaînage « {link} » : non évalué par le banc")
        verdicts: list[sv.Verdict] = []
        for item in self.values(resource, definition.expression or ""):
            ref = item.get("reference") if isinstance(item, dict) else None
            if not ref or (link_type and not above and sv.reference_key(ref).split("/")[0] != link_type):
                continue
            targets = self._hierarchy(sv.reference_key(ref)) if above else [self.resolve(sv.reference_key(ref))]
            verdicts += [None if target is None else self._walk(target, criterion, depth + 1) for target in targets]
        return sv.any_of(verdicts)

    def _hierarchy(self, key: str) -> list[dict | None]:
        """`:above` on a chained reference (IG ST2-S2, ST3-S5: "une interprétation des spécifications FHIR R4"):
        the referenced resource and every one above it through its type's `partof` parameter
        (Organization.partOf, Location.partOf); cycle-safe. None stands for a resource that
        could not be read (that branch cannot be judged)."""
        found: list[dict | None] = []
        seen: set[str] = set()
        pending = [key]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            target = self.resolve(current)
            found.append(target)
            if target is None:
                continue
            parent = self.params.get(target.get("resourceType", ""), "partof")
            if parent is None or not parent.expression:
                continue
            for item in self.values(target, parent.expression):
                ref = item.get("reference") if isinstance(item, dict) else None
                if ref:
                    pending.append(sv.reference_key(ref))
        return found

    def _definition(self, rtype: str, name: str) -> Definition:
        definition = self.params.get(rtype, name)
        if definition is None:
            raise Unjudgeable(f"paramètre « {name} » inconnu du banc pour {rtype}")
        if definition.expression is None:
            raise Unjudgeable(f"paramètre « {name} » de {rtype} inutilisable tel que publié : {definition.note}")
        if definition.type in ("special", "composite"):
            raise Unjudgeable(f"paramètre « {name} » de type {definition.type} : non évalué par le banc")
        return definition

    def values(self, resource: dict, expression: str) -> list:
        """A parameter expression's values on a resource; Unjudgeable if it cannot be evaluated."""
        try:
            return self.engine.evaluate(expression, resource)
        except NotEvaluable as exc:
            raise Unjudgeable(f"expression du paramètre non évaluable : {exc.reason}") from None

    def _leaf(self, resource: dict, rtype: str, criterion: Criterion) -> sv.Verdict:
        definition = self._definition(rtype, criterion.name)
        items = self.values(resource, definition.expression or "")
        modifier = criterion.modifier
        if modifier == "missing":
            wanted = criterion.values[0].lower() == "true"
            return (not items) == wanted
        negate = modifier == "not" and definition.type == "token"
        match = self._matcher(definition.type, modifier if not negate else None, criterion.name)
        verdict = sv.any_of([match(item, value) for value in criterion.values for item in items])
        if negate:
            return None if verdict is None else not verdict
        return verdict

    @staticmethod
    def _matcher(kind: str, modifier: str | None, name: str) -> Callable[[object, str], sv.Verdict]:
        if kind == "token" and modifier in (None, "of-type"):
            return sv.of_type_match if modifier else sv.token_match
        if kind == "string" and modifier in (None, "exact", "contains"):
            return lambda item, value: sv.string_match(item, value, modifier)
        if kind == "reference" and (modifier is None or modifier[:1].isupper()):
            return lambda item, value: sv.reference_match(item, value, modifier)
        if kind == "reference" and modifier == "identifier":
            return lambda item, value: (sv.token_match(item["identifier"], value)
                                        if isinstance(item, dict) and "identifier" in item else None)
        if modifier is None and kind in ("date", "number", "quantity", "uri"):
            return {"date": sv.date_match, "number": sv.number_match, "quantity": sv.quantity_match,
                    "uri": sv.uri_match}[kind]
        raise Unjudgeable(f"« {name}{':' + modifier if modifier else ''} » ({kind}) : modificateur non évalué par le banc")
