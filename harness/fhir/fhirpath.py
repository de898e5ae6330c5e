"""FHIRPath for ror-harness: fhirpathpy 2.2.4, compiled once, typed, and honest about its limits.

Used by the profile validator (invariants), the scenario engine (values and assertions on
responses) and the reference server (search indexes from SearchParameter expressions). The
wrapper exists because fhirpathpy, used bare, gives silently wrong answers for FHIR:

- syntax errors are swallowed (`a b` parses as `a`): we parse with an error listener that raises
  and require the whole text to be one expression;
- an unknown function fails only when reached at run time: every function name and arity is
  checked at compile time, so a profile invariant that cannot be run is known up front;
- a focus that is not a resource has no type, so choice elements (`Extension.value`) and
  `children()` break: the caller names the focus type (or element path) and we build typed nodes;
- the JSON pair `x` / `_x` of a primitive with extensions becomes two nodes (so `count()` counts
  it twice and `x.extension` misses the extensions of a valued primitive): member navigation is
  routed through our own function (_member_function), which merges the pair into one node;
- FHIR primitives have a `value` child in the FHIR model (needed by the ROR 0.7.0 invariant
  `ror-questionnaire-version-required`, `value.toString().contains('|')` on a canonical);
- the FHIR functions `hasValue()` and `htmlChecks()` are missing, `extension(url)` returns only
  the first match, and the function form `as(T)` raises on a collection, which the R4 invariant
  dom-3 relies on: see `_fhir_functions()` for each decision.

Anything we cannot evaluate raises NotEvaluable with a reason: callers report "not checked",
never a pass.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from antlr4.tree.Tree import ParseTreeWalker
from fhirpathpy.engine import do_eval
from fhirpathpy.engine.evaluators import member_invocation
from fhirpathpy.engine.invocations import equality, filtering
from fhirpathpy.engine.invocations import invocation_registry as FHIRPATHPY_FUNCTIONS
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import FP_DateTime, FP_Time, ResourceNode, TypeInfo
from fhirpathpy.models import models
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from harness.fhir.narrative import narrative_problems

log = logging.getLogger(__name__)

#: FHIR functions fhirpathpy lacks and we do not provide, with the reason given to the user.
MISSING_FUNCTIONS = {
    "memberOf": "memberOf() needs a terminology service; bindings are checked by the validator instead",
    "conformsTo": "conformsTo() needs profile validation inside FHIRPath",
    "resolve": "resolve() needs a reference resolver (FhirPath(resolver=...))",
    "subsumes": "subsumes() needs a terminology service",
    "subsumedBy": "subsumedBy() needs a terminology service",
    "elementDefinition": "elementDefinition() needs the profile of the node",
    "slice": "slice() needs the profile of the node",
    "checkModifiers": "checkModifiers() needs the profile of the node",
}

#: Internal function that replaces member navigation; cannot be named in FHIRPath text.
_MEMBER = "$member"


class NotEvaluable(Exception):
    """The expression cannot be evaluated here: report it as not checked, never as passed.

    phase is "compile" (syntax, unsupported function, wrong arity: true for every input) or
    "evaluate" (the engine raised on this input, or the result cannot be read as a boolean).
    """

    def __init__(self, expression: str, reason: str, phase: str = "compile") -> None:
        super().__init__(f"{reason} (in {expression!r})")
        self.expression = expression
        self.reason = reason
        self.phase = phase


class _RaisingListener(ErrorListener):
    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):  # noqa: N802 (ANTLR API)
        raise SyntaxError(f"syntax error at column {column + 1}: {msg}")


def _parse(expression: str) -> dict:
    """fhirpathpy's AST, but from the `entireExpression` rule and failing on any syntax error."""
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_RaisingListener())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_RaisingListener())
    listener = ASTPathListener()
    ParseTreeWalker().walk(listener, parser.entireExpression())
    entire = listener.parentStack[0]["children"][0]
    return {"children": entire["children"]}


def _walk(node: dict):
    yield node
    for child in node.get("children", ()):
        yield from _walk(child)


def _called_functions(tree: dict) -> list[tuple[str, int]]:
    """(name, number of arguments) of every function call in the tree."""
    calls = []
    for node in _walk(tree):
        if node.get("type") == "Functn":
            name = node["children"][0]["text"].replace("`", "")
            params = node["children"][1]["children"] if len(node["children"]) > 1 else []
            calls.append((name, len(params)))
    return calls


def _route_members(tree: dict) -> None:
    """Turn each `name` navigation into a call of `_member('name')` (in place)."""
    for node in _walk(tree):
        if node.get("type") == "MemberInvocation":
            key = node["children"][0]["text"]
            node["type"] = "FunctionInvocation"
            node["children"] = [{
                "type": "Functn", "terminalNodeText": ["(", ")"],
                "children": [
                    {"type": "Identifier", "terminalNodeText": [_MEMBER], "text": _MEMBER},
                    {"type": "ParamList", "terminalNodeText": [],
                     "children": [{"type": "TermExpression", "terminalNodeText": [], "text": key}]},
                ],
            }]


def _arity_ok(entry: dict, count: int) -> bool:
    if "variadic" in entry:
        return True
    return count in entry.get("arity", {0: ()})


# --- the FHIR model -------------------------------------------------------------------------


@cache
def _primitive_types(model_name: str) -> frozenset[str]:
    """FHIR primitive type names (lower-case types of the model's type hierarchy)."""
    return frozenset(t for t in models[model_name]["type2Parent"] if t[0].islower())


def _is_primitive(node: Any, model_name: str) -> bool:
    return isinstance(node, ResourceNode) and node.path in _primitive_types(model_name)


@lru_cache(maxsize=4096)
def focus_type(model_name: str, type_or_path: str) -> str:
    """The node type fhirpathpy expects for a focus: a type name, or a backbone element path.

    Accepts a type code (`Extension`, `Period`, `string`) or an element path (`Location.address`
    -> `Address`, `Questionnaire.item.item` -> `Questionnaire.item`). A choice path
    (`Extension.value[x]`) is refused: only the caller knows which type the instance chose.
    """
    model = models[model_name]
    if "[x]" in type_or_path:
        raise ValueError(f"{type_or_path}: a choice element; give the concrete type (e.g. 'canonical')")
    if type_or_path in model["type2Parent"] or type_or_path.startswith("System."):
        return type_or_path
    path = model["pathsDefinedElsewhere"].get(type_or_path, type_or_path)
    if path in model["path2Type"]:
        return model["path2Type"][path]
    prefix = path + "."
    if any(p.startswith(prefix) for p in model["path2Type"]):
        return path  # a backbone element: fhirpathpy types its children by this path
    raise ValueError(f"{type_or_path!r} is neither a FHIR type nor an element path of the {model_name} model")


# --- the functions we add or replace ---------------------------------------------------------


def _merge_primitive_pairs(nodes: list, model_name: str) -> list:
    """One node per primitive: the value node carries its `_x` object as `_data`.

    fhirpathpy emits the value nodes then the `_x` nodes, both with the same propName; a JSON
    null in a primitive array gives a node whose data is None, which is no value at all.
    """
    values: dict[str, int] = {}
    out: list = []
    for node in nodes:
        if isinstance(node, ResourceNode) and node.data is None:
            continue
        is_companion = _is_primitive(node, model_name) and isinstance(node.data, Mapping)
        if is_companion and node.propName in values:
            partner = out[values[node.propName]]
            out[values[node.propName]] = ResourceNode(partner.data, partner.path, node.data,
                                                      partner.propName, partner.index)
            continue
        if _is_primitive(node, model_name) and not is_companion:
            values[node.propName] = len(out)
        out.append(node)
    return out


def _primitive_part(node: ResourceNode, key: str) -> list:
    """`extension` / `id` of a valued primitive, read from its `_x` object."""
    extra = node._data or {}
    if key == "extension":
        return [ResourceNode(e, "Extension", propName=f"{node.propName}.extension[{i}]", index=i)
                for i, e in enumerate(extra.get("extension", ()))]
    if key == "id" and "id" in extra:
        return [ResourceNode(extra["id"], "System.String", propName=f"{node.propName}.id")]
    return []


def _member_function(model_name: str) -> Callable:
    """Member navigation: fhirpathpy's own, plus the FHIR model's view of primitives."""
    nodes_for_key: dict[str, dict] = {}

    def member(ctx: dict, data: list, key: str) -> list:
        key = key.replace("`", "")
        synthetic = nodes_for_key.setdefault(key, {"children": [{"type": "Identifier", "text": key}]})
        out: list = []
        for item in data:
            valued_primitive = _is_primitive(item, model_name) and not isinstance(item.data, Mapping)
            if key[0].isupper() and isinstance(item, ResourceNode) and item.path == key:
                out.append(item)  # `Patient.name`: a leading type name selects a focus of that type
            elif valued_primitive and key == "value":
                out.append(item)  # the FHIR model's `value` child of a primitive is its value
            elif valued_primitive and key in ("extension", "id"):
                out.extend(_primitive_part(item, key))
            else:  # one item at a time: propNames are unique within one parent only
                out.extend(_merge_primitive_pairs(member_invocation(ctx, [item], synthetic), model_name))
        return out

    return member


def _has_value(ctx: dict, data: list) -> list:
    """FHIR hasValue(): true only for ONE item that has a primitive value; false otherwise.

    The FHIR text says "empty" when the input is not a single FHIR primitive, but the R4
    invariants are written for false: per-1 `start.hasValue().not() or end.hasValue().not() or
    (start <= end)` would be empty (so failed) on every open-ended Period. The HL7 Java engine
    and fhirpath.js return false, and so do we.
    """
    value = _plain(data[0]) if len(data) == 1 else None
    return [value is not None and not isinstance(value, Mapping | list)]


def _html_checks(ctx: dict, data: list) -> list:
    """FHIR htmlChecks(): txt-1 and txt-2 on a single xhtml string (see narrative.py)."""
    if len(data) != 1:
        return []
    div = data[0].data if isinstance(data[0], ResourceNode) else data[0]
    if not isinstance(div, str):
        return []
    problems = narrative_problems(div)
    if problems:
        log.debug("htmlChecks() false: %s", "; ".join(problems))
    return [not problems]


_TEMPORAL = {"date": FP_DateTime, "dateTime": FP_DateTime, "instant": FP_DateTime, "time": FP_Time}


def _quantity(item: Any) -> Mapping | None:
    """The JSON of a Quantity-typed node (Quantity, Age, Duration, SimpleQuantity, ...)."""
    if isinstance(item, ResourceNode) and isinstance(item.data, Mapping) and "value" in item.data \
            and item.path and TypeInfo.is_type(item.path, "Quantity"):
        return item.data
    return None


def _comparable(a: list, b: list) -> tuple[list, list]:
    """Operands fhirpathpy can order: FHIR dates as FHIRPath dates, quantities as numbers.

    fhirpathpy compares FHIR date/dateTime/instant/time nodes as plain strings (wrong across
    time zones and precisions) and raises on Quantity objects. Two quantities with the same
    unit (system and code, or unit text) compare by value; other units would need UCUM
    conversion, which we do not have: that raises, and the caller reports "not evaluable".
    """
    if len(a) != 1 or len(b) != 1:
        return a, b
    qa, qb = _quantity(a[0]), _quantity(b[0])
    if qa is not None and qb is not None:
        unit_a = (qa.get("system"), qa.get("code")) if "code" in qa else (None, qa.get("unit"))
        unit_b = (qb.get("system"), qb.get("code")) if "code" in qb else (None, qb.get("unit"))
        if unit_a != unit_b:
            raise ValueError(f"cannot compare quantities in {unit_a} and {unit_b} (no unit conversion)")
        return [Decimal(str(qa["value"]))], [Decimal(str(qb["value"]))]
    return [_temporal(a[0])], [_temporal(b[0])]


def _temporal(item: Any) -> Any:
    cls = _TEMPORAL.get(item.path) if isinstance(item, ResourceNode) else None
    if cls is None or not isinstance(item.data, str):
        return item
    return cls(item.data) or item


def _ordering(fhirpathpy_fn: Callable) -> dict:
    def compare(ctx: dict, a: list, b: list) -> Any:
        return fhirpathpy_fn(ctx, *_comparable(a, b))

    return {"fn": compare, "arity": {2: ["Any", "Any"]}, "nullable": True}


def _extensions(ctx: dict, data: list, url: str) -> list:
    """FHIR extension(url): ALL extensions with this url (fhirpathpy keeps only the first)."""
    out = []
    for item in data:
        element = item.data if isinstance(item, ResourceNode) else item
        if not isinstance(element, Mapping) and isinstance(item, ResourceNode):
            element = item._data or {}  # a valued primitive: its extensions are in `_x`
        if not isinstance(element, Mapping):
            continue
        for i, ext in enumerate(element.get("extension", ())):
            if isinstance(ext, Mapping) and ext.get("url") == url:
                out.append(ResourceNode(ext, "Extension", index=i))
    return out


def _resolve_function(resolver: Callable[[str], dict | None]) -> Callable:
    def resolve(ctx: dict, data: list) -> list:
        """FHIR resolve(): `#id` from %rootResource.contained, anything else from the resolver."""
        out = []
        for item in data:
            value = item.data if isinstance(item, ResourceNode) else item
            ref = value.get("reference") if isinstance(value, Mapping) else value
            if not isinstance(ref, str):
                continue
            if ref.startswith("#"):
                root = ctx["vars"].get("rootResource")
                root = root.data if isinstance(root, ResourceNode) else root
                target = next((c for c in (root or {}).get("contained", ()) if c.get("id") == ref[1:]), None)
            else:
                target = resolver(ref)
            if target is not None:
                out.append(ResourceNode.create_node(target))
        return out

    return resolve


def _fhir_functions(resolver: Callable | None) -> dict[str, dict]:
    """Functions added to (or replacing) fhirpathpy's, as fhirpathpy invocation entries.

    Each decision, and why:
    - hasValue(): false, not empty, when there is no single valued primitive (see _has_value);
    - htmlChecks(): txt-1 AND txt-2 (both R4 invariants use this same expression), see narrative.py;
    - extension(url): all matches, not only the first (R4 ext has repeating urls, e.g. the
      `type` parts of the SDC launchContext checked by ROR's ror-inv-1);
    - as(T), the FUNCTION form: filters the input like ofType(T) instead of raising on more
      than one item. R4's dom-3 calls `%resource.descendants().as(canonical)`; R4 was published
      with the HL7 Java engine, which filters, and R5 rewrote dom-3 with ofType(). The
      operator form `x as T` keeps its strict single-item rule;
    - trace(name [, projection]): to the debug log, not stdout; the projection is honoured;
    - < > <= >=: dates compared as dates, quantities of the same unit by value (_comparable);
    - resolve(): only when a resolver is given, else it is reported as missing.
    The function-name check at compile time uses these plus fhirpathpy's registry.
    """
    table = {
        "hasValue": {"fn": _has_value},
        "htmlChecks": {"fn": _html_checks},
        "extension": {"fn": _extensions, "arity": {1: ["String"]}},
        "as": {"fn": filtering.of_type_fn, "arity": {1: ["TypeSpecifier"]}},
        "trace": {"fn": _trace, "arity": {1: ["String"], 2: ["String", "Expr"]}},
        **{op: _ordering(fn) for op, fn in (("<", equality.lt), (">", equality.gt),
                                            ("<=", equality.lte), (">=", equality.gte))},
    }
    if resolver is not None:
        table["resolve"] = {"fn": _resolve_function(resolver)}
    return table


def _trace(ctx: dict, data: list, label: str = "", projection: Callable | None = None) -> list:
    """FHIRPath trace(name [, projection]): returns its input; the log gets the traced value.

    fhirpathpy prints to stdout (which would pollute reports and the JSON output) and drops
    the projection argument by a special case on its own function's name.
    """
    if log.isEnabledFor(logging.DEBUG):
        this = ctx.get("$this")
        traced = projection(data) if projection else data
        ctx["$this"] = this  # fhirpathpy's projection moves $this: the result must not depend on logging
        log.debug("FHIRPath trace %s: %r", label, to_python(traced))
    return data


# --- published invariants known to be wrong --------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """What we evaluate instead of a published invariant that cannot give its intended verdict."""

    expression: str
    reason: str


_REF_1 = ("reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
          "%rootResource.contained.id.trace('ids'))")
_QUE_7 = "operator = 'exists' implies (answer is Boolean)"

#: Keyed by the exact published text, so that any other wording is evaluated as written.
R4_CORRECTIONS = {
    _REF_1: Correction(
        f"reference.exists() implies ({_REF_1})",
        "R4 ref-1 is empty (so failed) on a Reference without `reference` (identifier or display "
        "only, as in the ROR Task `focus`); FHIR-37793, fixed in R5 by `reference.exists() implies`"),
    _QUE_7: Correction(
        "operator = 'exists' implies (answer is boolean)",
        "R4 que-7 tests the FHIRPath type System.Boolean, which a FHIR `answerBoolean` never is; "
        "FHIR-25390, the intended type is FHIR `boolean`"),
}


def correction_for(expression: str) -> Correction | None:
    """The correction check_invariant applies to this published expression, if any."""
    return R4_CORRECTIONS.get(expression)


# --- results ---------------------------------------------------------------------------------


def _plain(item: Any) -> Any:
    return item.data if isinstance(item, ResourceNode) else item


def to_python(nodes: list, model_name: str = "r4") -> list:
    """Plain values of a result: JSON objects/values; FHIRPath quantities and dates stay typed.

    A primitive that has extensions but no value is dropped, as fhirpathpy does: it has no
    value to return. The objects are the caller's own JSON, not copies.
    """
    return [_plain(n) for n in nodes
            if not (_is_primitive(n, model_name) and isinstance(n.data, Mapping))]


def as_boolean(expression: str, nodes: list) -> bool:
    """The verdict of an invariant from its result.

    FHIR (ElementDefinition.constraint: "condition that must evaluate to true"): only true
    passes. So `[true]` passes and `[false]` and EMPTY fail: the HL7 Java validator also
    counts an empty result as a failure. A single non-boolean item is true (FHIRPath
    "singleton evaluation of collections"). Several items is a FHIRPath error, which we
    cannot tell apart from an engine limitation: NotEvaluable (phase "evaluate").
    """
    if not nodes:
        return False
    if len(nodes) > 1:
        raise NotEvaluable(expression, f"result has {len(nodes)} items where one boolean was expected",
                           "evaluate")
    value = _plain(nodes[0])
    return value if isinstance(value, bool) else True


# --- the engine ------------------------------------------------------------------------------


class CompiledPath:
    """A parsed, checked expression, bound to its engine: call it on a focus."""

    __slots__ = ("expression", "_tree", "_engine")

    def __init__(self, expression: str, tree: dict, engine: FhirPath) -> None:
        self.expression = expression
        self._tree = tree
        self._engine = engine

    def nodes(self, node: Any, *, type: str | None = None, resource: Mapping | None = None,
              root: Mapping | None = None, env: Mapping[str, Any] | None = None,
              primitive_extras: Mapping | None = None) -> list:
        """The raw result (fhirpathpy nodes), for callers that need types or paths."""
        engine = self._engine
        focus = engine.focus(node, type, primitive_extras)
        if resource is None and isinstance(node, Mapping) and "resourceType" in node:
            resource = node
        variables: dict[str, Any] = {"ucum": "http://unitsofmeasure.org", "context": focus}
        if resource is not None:
            variables["resource"] = ResourceNode.create_node(resource)
            variables["rootResource"] = ResourceNode.create_node(root if root is not None else resource)
        variables.update(env or {})
        ctx = {"dataRoot": focus, "$this": focus, "vars": variables, "model": engine.model,
               "userInvocationTable": engine.functions}
        constants.reset()  # today()/now() are fixed for one evaluation
        TypeInfo.model = engine.model  # fhirpathpy keeps the model in a class attribute
        try:
            return do_eval(ctx, focus, self._tree["children"][0])
        except Exception as exc:  # fhirpathpy raises bare Exceptions, TypeErrors, ...
            raise NotEvaluable(self.expression, f"fhirpathpy failed: {_exc_name(exc)}: {exc}",
                               "evaluate") from exc

    def __call__(self, node: Any, **kwargs: Any) -> list:
        """Evaluate on a focus; see FhirPath.evaluate for the arguments."""
        return to_python(self.nodes(node, **kwargs), self._engine.model_name)


def _exc_name(exc: BaseException) -> str:
    return exc.__class__.__name__


def _boolean_operand(items: list) -> bool | None:
    """FHIRPath singleton evaluation of a Boolean operand: empty -> unknown, one non-Boolean
    item -> true (spec "Singleton Evaluation of Collections"); fhirpathpy demands Booleans, so
    `where(extension.where(...) and extension.where(...))` (the IG's capacity PATCH paths) failed."""
    if not items:
        return None
    if len(items) > 1:
        raise ValueError(f"a Boolean operand has {len(items)} items")
    value = getattr(items[0], "data", items[0])
    return value if isinstance(value, bool) else True


def _and(ctx: dict, left: list, right: list) -> list:
    a, b = _boolean_operand(left), _boolean_operand(right)
    return [False] if False in (a, b) else [] if None in (a, b) else [True]


def _or(ctx: dict, left: list, right: list) -> list:
    a, b = _boolean_operand(left), _boolean_operand(right)
    return [True] if True in (a, b) else [] if None in (a, b) else [False]


class FhirPath:
    """A FHIRPath engine for one FHIR version, with a compile cache keyed by expression text.

    The cache is a plain dict: the distinct expressions of the loaded profiles, scenarios and
    search parameters are a few hundred, and failures are cached as well. Not thread-safe
    (fhirpathpy keeps evaluation state in module globals).
    """

    def __init__(self, model: str = "r4", *, resolver: Callable[[str], dict | None] | None = None) -> None:
        if model not in models:
            raise ValueError(f"unknown FHIR model {model!r} (fhirpathpy has {', '.join(sorted(models))})")
        self.model_name = model
        self.model = models[model]
        self.functions = {**_fhir_functions(resolver),
                          _MEMBER: {"fn": _member_function(model), "arity": {1: ["Identifier"]}},
                          "and": {"fn": _and, "arity": {2: ["Any", "Any"]}},
                          "or": {"fn": _or, "arity": {2: ["Any", "Any"]}}}
        self._public = {**FHIRPATHPY_FUNCTIONS, **_fhir_functions(resolver)}
        self._cache: dict[str, CompiledPath | NotEvaluable] = {}

    def compile(self, expression: str) -> CompiledPath:
        """Parse and check once; raise NotEvaluable (phase "compile") if it can never run."""
        found = self._cache.get(expression)
        if found is None:
            found = self._cache[expression] = self._build(expression)
        if isinstance(found, NotEvaluable):
            raise found
        return found

    def _build(self, expression: str) -> CompiledPath | NotEvaluable:
        try:
            tree = _parse(expression)
        except SyntaxError as exc:
            return NotEvaluable(expression, str(exc))
        except Exception as exc:  # the ANTLR lexer raises its own error types
            return NotEvaluable(expression, f"syntax error: {_exc_name(exc)}")
        for name, count in _called_functions(tree):
            entry = self._public.get(name)
            if entry is None:
                return NotEvaluable(expression, MISSING_FUNCTIONS.get(
                    name, f"function {name}() is not supported by fhirpathpy 2.2.4"))
            if not _arity_ok(entry, count):
                return NotEvaluable(expression, f"function {name}() does not take {count} argument(s)")
        _route_members(tree)
        return CompiledPath(expression, tree, self)

    def focus(self, node: Any, type: str | None, primitive_extras: Mapping | None = None) -> list:
        """Typed nodes for a focus: a resource types itself, anything else needs `type`."""
        items = node if isinstance(node, list) else [node]
        if type is None:
            if all(isinstance(i, Mapping) and "resourceType" in i for i in items):
                return [ResourceNode.create_node(i) for i in items]
            raise ValueError("the focus is not a resource: give its FHIR type or element path (type=...)")
        path = focus_type(self.model_name, type)
        return [ResourceNode(i, path, primitive_extras) for i in items if i is not None]

    def evaluate(self, expression: str, node: Any, *, type: str | None = None,
                 resource: Mapping | None = None, root: Mapping | None = None,
                 env: Mapping[str, Any] | None = None, primitive_extras: Mapping | None = None) -> list:
        """Evaluate `expression` with `node` as focus (%context); plain values out.

        - type: FHIR type or element path of the focus, required unless it is a resource;
        - resource: the resource holding the focus (%resource; defaults to the focus when it is a
          resource); root: its container when `resource` is contained (%rootResource, defaults
          to `resource`). Without a resource, `%resource` fails the evaluation (NotEvaluable);
        - primitive_extras: for a primitive focus, its JSON `_name` object (id, extension);
        - env: more %variables (JSON values).
        """
        return self.compile(expression)(node, type=type, resource=resource, root=root, env=env,
                                        primitive_extras=primitive_extras)

    def check_invariant(self, expression: str, node: Any, *, type: str | None = None,
                        resource: Mapping | None = None, root: Mapping | None = None,
                        primitive_extras: Mapping | None = None) -> bool:
        """True when the invariant holds on this focus (see as_boolean for empty/non-boolean).

        A published R4 expression listed in R4_CORRECTIONS is evaluated in its corrected form;
        callers can name the correction in their report with correction_for(expression).
        """
        correction = correction_for(expression) if self.model_name == "r4" else None
        evaluated = correction.expression if correction else expression
        nodes = self.compile(evaluated).nodes(node, type=type, resource=resource, root=root,
                                               primitive_extras=primitive_extras)
        return as_boolean(evaluated, nodes)


@cache
def default_engine() -> FhirPath:
    """The shared R4 engine (one compile cache for the whole process)."""
    return FhirPath("r4")
