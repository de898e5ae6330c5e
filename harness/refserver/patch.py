"""FHIRPath Patch (FHIR R4 fhirpatch.html): parse a `Parameters` body, apply it to a resource.

Strict on purpose: the IG's own example bodies are, by the IG's note, "fictifs … sujets aux
erreurs" and several are not FHIRPath Patch (a `replace` with a `name`, a `delete` with a
value, a value part named after the element). The reference server answers those with a 400
that says what FHIRPath Patch expects, so that a vendor learns the standard form. The one
exception, the ROR capacity PATCH form of the national API, is handled in capacity.py.

The patch applies to a deep copy, all operations or none (FHIR: a failed operation fails the
whole patch).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.refserver.jsonshape import JsonShape
from harness.refserver.outcome import FhirError

OPERATION_TYPES = ("add", "insert", "delete", "replace", "move")
#: The parts each operation type needs (FHIR R4 fhirpatch.html, "Patch operations").
REQUIRED_PARTS = {"add": ("path", "name", "value"), "insert": ("path", "index", "value"),
                  "delete": ("path",), "replace": ("path", "value"), "move": ("path", "source", "destination")}
MISSING = object()


def _bad(diagnostics: str, index: int | None = None) -> FhirError:
    where = [f"Parameters.parameter[{index}]"] if index is not None else None
    return FhirError(400, "invalid", diagnostics, expression=where)


@dataclass
class Operation:
    index: int  # position in Parameters.parameter (for error messages)
    type: str
    path: str
    name: str | None = None
    value: Any = MISSING
    value_part: dict = field(default_factory=dict)  # the value part as sent (capacity.py reads it)
    position: int | None = None  # `index` part of insert
    source: int | None = None
    destination: int | None = None


def _part_value(part: dict) -> Any:
    values = [k for k in part if k.startswith("value")]
    if len(values) != 1:
        return MISSING
    return part[values[0]]


def parse(body: Any, name_optional: Callable[[str], bool] = lambda path: False) -> list[Operation]:
    """The operations of a FHIRPath Patch body, or a 400 naming the first problem.

    `name_optional(path)`: an `add` on such a path may omit `name` (the ROR capacity form).
    """
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise _bad("a FHIRPath Patch body is a Parameters resource (Content-Type application/fhir+json)")
    parameters = body.get("parameter")
    if not isinstance(parameters, list) or not parameters:
        raise _bad("the Parameters of a FHIRPath Patch need at least one 'operation' parameter")
    operations = []
    for i, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or parameter.get("name") != "operation":
            raise _bad("every parameter of a FHIRPath Patch is named 'operation'", i)
        parts: dict[str, dict] = {}
        for part in parameter.get("part") or []:
            name = part.get("name") if isinstance(part, dict) else None
            if name not in ("type", "path", "name", "value", "index", "source", "destination"):
                raise _bad(f"unknown FHIRPath Patch part {name!r}: the parts are type, path, name, value, "
                           "index, source, destination", i)
            if name in parts:
                raise _bad(f"part {name!r} given twice", i)
            parts[name] = part
        kind = _part_value(parts.get("type", {}))
        if kind not in OPERATION_TYPES:
            raise _bad(f"operation type must be one of {', '.join(OPERATION_TYPES)} (got {kind!r})", i)
        path = _part_value(parts.get("path", {}))
        if not isinstance(path, str) or not path.strip():
            raise _bad("the 'path' part is a FHIRPath expression (valueString)", i)
        for needed in REQUIRED_PARTS[kind]:
            if needed not in parts and not (needed == "name" and name_optional(path)):
                raise _bad(f"a '{kind}' operation needs the part '{needed}'", i)
        extra = set(parts) - {"type", *REQUIRED_PARTS[kind]}
        if extra:
            raise _bad(f"a '{kind}' operation takes no part {', '.join(sorted(extra))} (FHIRPath Patch: "
                       f"{kind} uses {', '.join(REQUIRED_PARTS[kind])})", i)
        op = Operation(i, kind, path.strip())
        if "name" in parts:
            op.name = _part_value(parts["name"])
            if not isinstance(op.name, str) or not op.name.isidentifier():
                raise _bad("the 'name' part is an element name (valueString)", i)
        if "value" in parts:
            op.value_part = parts["value"]
        for key, attr in (("index", "position"), ("source", "source"), ("destination", "destination")):
            if key in parts:
                number = _part_value(parts[key])
                if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                    raise _bad(f"the '{key}' part is a non-negative valueInteger", i)
                setattr(op, attr, number)
        operations.append(op)
    return operations


# -- locating elements --------------------------------------------------------------------------


@dataclass
class Slot:
    """Where an element lives: `container[key]` (a dict and a name, or a list and an index)."""

    container: dict | list
    key: str | int
    value_type: str | None  # the element's type (or backbone path): shapes a replacing value


def _split_member(expression: str) -> tuple[str, str] | None:
    """`a.b.where(x).c` -> (`a.b.where(x)`, `c`) when the expression ends with a plain member."""
    depth, quote, cut = 0, "", -1
    for i, ch in enumerate(expression):
        if quote:
            if ch == quote and expression[i - 1] != "\\":
                quote = ""
        elif ch in "'`":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "." and depth == 0:
            cut = i
    if cut <= 0:
        return None
    tail = expression[cut + 1:].strip()
    return (expression[:cut].strip(), tail) if tail.isidentifier() else None


def _nodes(resource: dict, expression: str) -> list:
    try:
        return default_engine().compile(expression).nodes(resource)
    except NotEvaluable as exc:
        raise FhirError(400, "invalid", f"the path {expression!r} is not a FHIRPath expression this server can "
                                        f"evaluate: {exc.reason}", expression=[expression]) from None


def _parents(resource: dict) -> dict[int, tuple[dict | list, str | int]]:
    """id(object) -> (container, key) for every object inside the resource."""
    found: dict[int, tuple[dict | list, str | int]] = {}
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        for key, child in (node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(child, (dict, list)):
                if isinstance(child, dict):
                    found[id(child)] = (node, key)
                stack.append(child)
    return found


def locate(resource: dict, expression: str, shape: JsonShape) -> list[Slot]:
    """The elements a path selects, as slots that can be replaced or deleted."""
    split = _split_member(expression)
    if split is not None:
        parent_expr, member = split
        slots = []
        for parent in _nodes(resource, parent_expr):
            data = getattr(parent, "data", parent)
            if not isinstance(data, dict) or member not in data:
                continue
            value = data[member]
            type_path = getattr(parent, "path", None) or resource["resourceType"]
            value_type = shape.child_type(type_path, member)
            if isinstance(value, list):
                slots.extend(Slot(value, i, value_type) for i in range(len(value)))
            else:
                slots.append(Slot(data, member, value_type))
        return slots
    nodes = _nodes(resource, expression)
    parents = _parents(resource)
    slots = []
    for node in nodes:
        data = getattr(node, "data", node)
        if not isinstance(data, dict) or id(data) not in parents:
            raise FhirError(400, "invalid", f"the path {expression!r} must end with an element name or select "
                                            "elements (objects): a value it selects cannot be located",
                            expression=[expression])
        container, key = parents[id(data)]
        slots.append(Slot(container, key, getattr(node, "path", None)))
    return slots


def single_node(resource: dict, expression: str) -> tuple[dict, str]:
    """The one object a path selects (the container of add), and its type path."""
    nodes = _nodes(resource, expression)
    objects = [n for n in nodes if isinstance(getattr(n, "data", n), dict)]
    if len(objects) != 1 or len(nodes) != 1:
        raise FhirError(400, "invalid", f"the path {expression!r} selects {len(nodes)} element(s); "
                                        "this operation needs exactly one element", expression=[expression])
    node = objects[0]
    return node.data, node.path or resource["resourceType"]


# -- values -------------------------------------------------------------------------------------


def build_value(op: Operation, shape: JsonShape, type_path: str | None) -> Any:
    """The JSON value of the `value` part: `value[x]`, or an object built from its parts."""
    direct = _part_value(op.value_part)
    if direct is not MISSING:
        return direct
    parts = op.value_part.get("part")
    if not isinstance(parts, list) or not parts:
        raise _bad("the 'value' part needs a value[x] or parts (one per element of the value)", op.index)
    return _from_parts(parts, shape, type_path, op.index)


def _from_parts(parts: list, shape: JsonShape, type_path: str | None, index: int) -> dict:
    value: dict = {}
    for part in parts:
        name = part.get("name") if isinstance(part, dict) else None
        if not isinstance(name, str) or not name.isidentifier():
            raise _bad("each part of a value is named after an element of the value", index)
        inner = _part_value(part)
        child = shape.child_type(type_path, name) if type_path else None
        if inner is MISSING:
            inner = _from_parts(part.get("part") or [], shape, child, index)
        if type_path and shape.is_array(type_path, name) is None:
            raise _bad(f"{type_path} has no element {name!r}", index)
        if type_path and shape.is_array(type_path, name):
            value.setdefault(name, []).append(inner)
        elif name in value:
            raise _bad(f"{type_path or 'the value'}.{name} takes one value, the parts give several", index)
        else:
            value[name] = inner
    return value


# -- applying -----------------------------------------------------------------------------------


def _remove(slot: Slot) -> None:
    if isinstance(slot.container, list):
        slot.container.pop(slot.key)  # type: ignore[arg-type]
    else:
        slot.container.pop(slot.key, None)
        slot.container.pop(f"_{slot.key}", None)


class Patcher:
    """Applies FHIRPath Patch operations, shaping values with the FHIR core definitions."""

    def __init__(self, shape: JsonShape) -> None:
        self.shape = shape

    def apply(self, resource: dict, operations: list[Operation]) -> dict:
        """The patched copy of `resource` (the original is untouched)."""
        patched = copy.deepcopy(resource)
        for op in operations:
            self.apply_operation(patched, op)
        return patched

    def _list_at(self, resource: dict, op: Operation) -> list:
        split = _split_member(op.path)
        if split is None:
            raise FhirError(400, "invalid", f"'{op.type}' needs a path that ends with the name of a repeating "
                                            f"element (got {op.path!r})", expression=[op.path])
        parent, type_path = single_node(resource, split[0])
        if not self.shape.is_array(type_path, split[1]):
            raise FhirError(400, "invalid", f"{type_path}.{split[1]} is not a repeating element",
                            expression=[op.path])
        return parent.setdefault(split[1], [])

    def apply_operation(self, resource: dict, op: Operation) -> None:
        """Apply one operation in place (on the caller's copy)."""
        shape = self.shape
        if op.type == "add":
            node, type_path = single_node(resource, op.path)
            assert op.name is not None
            repeating = shape.is_array(type_path, op.name)
            if repeating is None:
                raise _bad(f"{type_path} has no element {op.name!r}", op.index)
            value = build_value(op, shape, shape.child_type(type_path, op.name))
            if repeating:
                node.setdefault(op.name, []).append(value)
            elif op.name in node:
                raise FhirError(400, "invalid", f"{type_path}.{op.name} already has a value and takes only "
                                                "one: use 'replace'", expression=[op.path])
            else:
                node[op.name] = value
        elif op.type == "insert":
            items = self._list_at(resource, op)
            if op.position is None or op.position > len(items):
                raise FhirError(400, "invalid", f"insert index {op.position} is outside 0..{len(items)}",
                                expression=[op.path])
            items.insert(op.position, build_value(op, shape, None))
        elif op.type == "delete":
            slots = locate(resource, op.path, shape)
            if len(slots) > 1:
                raise FhirError(400, "invalid", f"the path {op.path!r} selects {len(slots)} elements; delete "
                                                "removes exactly one", expression=[op.path])
            if slots:  # FHIRPath Patch: deleting nothing is not an error
                _remove(slots[0])
        elif op.type == "replace":
            slots = locate(resource, op.path, shape)
            if len(slots) != 1:
                raise FhirError(400, "invalid", f"the path {op.path!r} selects {len(slots)} elements; replace "
                                                "needs exactly one", expression=[op.path])
            slot = slots[0]
            slot.container[slot.key] = build_value(op, shape, slot.value_type)  # type: ignore[index]
        else:  # move
            items = self._list_at(resource, op)
            if op.source is None or op.destination is None or op.source >= len(items) \
                    or op.destination >= len(items):
                raise FhirError(400, "invalid", f"move indexes must be within 0..{len(items) - 1}",
                                expression=[op.path])
            items.insert(op.destination, items.pop(op.source))
