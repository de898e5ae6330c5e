"""Parsing search parameter names and values into conditions (conditions.py).

Grammar handled (FHIR R4 search): `name[:modifier]`, chains `ref[:Type][:above].name...`,
reverse chains `_has:Type:ref:name`, the ROR hierarchical reading `ref.name:above`, `near`
(`lat|lon|distance|unit`) and `near-insee-code` (`code|distance|unit`). Escapes `\\,` `\\|` `\\$`.
"""
from __future__ import annotations

from harness.refserver.search import geo
from harness.refserver.search.conditions import Chain, Condition, Has, Leaf, Near
from harness.refserver.search.errors import SearchError
from harness.refserver.search.registry import Registry, SearchParam

#: Modifiers accepted per parameter type (everything else is refused by name).
MODIFIERS = {
    "token": {None, "not", "text", "of-type", "missing"},
    "string": {None, "exact", "contains", "missing"},
    "date": {None, "missing"},
    "number": {None, "missing"},
    "quantity": {None, "missing"},
    "reference": {None, "missing"},
    "uri": {None, "below", "above", "missing"},
    "special": {None},
}
#: FHIR modifiers that exist but that this server does not implement.
NOT_SUPPORTED_MODIFIERS = {"in", "not-in", "below", "above", "identifier", "iterate", "type"}
UNITS_KM = {"km": 1.0, "m": 0.001}


class UnknownParameter(Exception):
    """A name the registry does not know for this type (reported as ignored at the top level)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` not preceded by a backslash; escapes are kept (removed by unescape())."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    return text.replace("\\,", ",").replace("\\|", "|").replace("\\$", "$").replace("\\\\", "\\")


class QueryParser:
    """Builds conditions for one resource type from `name=value` pairs."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def condition(self, resource_type: str, name: str, value: str) -> Condition:
        if name.startswith("_has:"):
            return self._has(resource_type, name, value)
        head, dot, tail = name.partition(".")
        if dot:
            return self._chain(resource_type, head, tail, value)
        pname, _, modifier = name.partition(":")
        param = self.param(resource_type, pname)
        modifier = modifier or None
        if modifier and modifier not in MODIFIERS[param.type]:
            if param.type == "reference" and modifier in self.registry.resource_types:
                if param.targets and modifier not in param.targets:
                    raise SearchError(f"{name}: {pname} does not point to {modifier}", parameter=name)
                return Leaf(param, modifier, split_unescaped(value, ","))
            code = "not-supported" if modifier in NOT_SUPPORTED_MODIFIERS else "invalid"
            raise SearchError(f"{name}: modifier :{modifier} is not supported on the {param.type} parameter "
                              f"{pname}", code=code, parameter=name)
        if modifier == "missing" and value not in ("true", "false"):
            raise SearchError(f"{name}: :missing takes true or false, not {value!r}", parameter=name)
        if param.name in ("near", "near-insee-code"):
            return self._near(param, value)
        return Leaf(param, modifier, split_unescaped(value, ","))

    def param(self, resource_type: str, name: str) -> SearchParam:
        param = self.registry.get(resource_type, name)
        if param is not None:
            return param
        disabled = self.registry.disabled.get((resource_type, name))
        if disabled is not None:
            raise UnknownParameter(name, f"{resource_type}:{name} is published by the IG but disabled here: "
                                         f"{disabled.reason}")
        if name in self.registry.unimplemented:
            raise UnknownParameter(name, f"{name} is defined by FHIR but not implemented by this server "
                                         "(full-text search is draft in the ROR IG: ST9)")
        raise UnknownParameter(name, f"unknown search parameter {name!r} for {resource_type}")

    def reference(self, resource_type: str, name: str, context: str) -> SearchParam:
        param = self.param(resource_type, name)
        if param.type != "reference":
            raise SearchError(f"{context}: {resource_type}:{name} is a {param.type} parameter, not a reference",
                              parameter=context)
        return param

    def _chain(self, resource_type: str, head: str, tail: str, value: str) -> Chain:
        ref_name, *mods = head.split(":")
        ref = self.reference(resource_type, ref_name, f"{head}.{tail}")
        above = "above" in mods
        types = [m for m in mods if m != "above"]
        if len(types) > 1 or (types and types[0] not in self.registry.resource_types):
            raise SearchError(f"{head}.{tail}: unknown chain modifier :{':'.join(types)}", parameter=head)
        if types:
            target = types[0]
        elif len(ref.targets) == 1:
            target = ref.targets[0]
        else:
            raise SearchError(f"{head}.{tail}: {ref_name} may point to several types "
                              f"({', '.join(ref.targets) or 'any'}): name one, e.g. {ref_name}:Organization.{tail}",
                              parameter=head)
        if target not in self.registry.resource_types:
            raise SearchError(f"{head}.{tail}: {target} is not served here", parameter=head)
        if "." not in tail and tail.endswith(":above"):
            tail, above = tail[: -len(":above")], True
        if above and self.registry.get(target, "partof") is None:
            raise SearchError(f"{head}.{tail}: :above walks the partof hierarchy, which {target} has not",
                              code="not-supported", parameter=head)
        try:
            inner = self.condition(target, tail, value)
        except UnknownParameter as exc:
            raise SearchError(f"{head}.{tail}: {exc.reason}", parameter=head) from None
        return Chain(ref, target, inner, above)

    def _has(self, resource_type: str, name: str, value: str) -> Has:
        parts = name.split(":", 3)
        if len(parts) < 4 or not all(parts[1:]):
            raise SearchError(f"{name}: expected _has:Type:reference:parameter", parameter=name)
        _, source, ref_name, rest = parts
        if source not in self.registry.resource_types:
            raise SearchError(f"{name}: {source} is not served here", parameter=name)
        ref = self.reference(source, ref_name, name)
        if ref.targets and resource_type not in ref.targets:
            raise SearchError(f"{name}: {source}:{ref_name} does not point to {resource_type}", parameter=name)
        try:
            inner = self.condition(source, rest, value)
        except UnknownParameter as exc:
            raise SearchError(f"{name}: {exc.reason}", parameter=name) from None
        return Has(resource_type, source, ref, inner)

    def _near(self, param: SearchParam, value: str) -> Near:
        if len(split_unescaped(value, ",")) > 1:
            raise SearchError(f"{param.name}: one point only (no comma list)", parameter=param.name)
        parts = [unescape(p) for p in split_unescaped(value, "|")]
        if param.name == "near":
            if len(parts) < 2:
                raise SearchError("near: expected latitude|longitude|distance|unit", parameter="near")
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                raise SearchError(f"near: {value!r} is not latitude|longitude|...", parameter="near") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise SearchError(f"near: ({lat}, {lon}) is not a point on Earth", parameter="near")
            km = _distance(param.name, parts[2:])
            return Near(param, lat, lon, km)
        code = parts[0]
        point = geo.commune_point(code)
        if point is None:
            raise SearchError(f"near-insee-code: {code!r} is not a current commune code with a known point",
                              parameter=param.name)
        return Near(param, point[0], point[1], _distance(param.name, parts[1:]), commune=code)


def _distance(name: str, parts: list[str]) -> float:
    """Distance in km from `[distance[|unit]]`: unit km (default) or m; no distance = 0 km."""
    if not parts or parts[0] == "":
        return 0.0
    try:
        amount = float(parts[0])
    except ValueError:
        raise SearchError(f"{name}: distance {parts[0]!r} is not a number", parameter=name) from None
    unit = parts[1] if len(parts) > 1 and parts[1] else "km"
    if unit not in UNITS_KM:
        raise SearchError(f"{name}: unit {unit!r} is not km or m", parameter=name)
    if amount < 0:
        raise SearchError(f"{name}: distance must not be negative", parameter=name)
    return amount * UNITS_KM[unit]
