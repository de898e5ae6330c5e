"""The snapshot-driven validator: walks a JSON resource along compiled profiles.

Why hand-written: no validator that checks ROR profiles fully (slices, bindings to the NOS value
sets, invariants) can run here (see docs/validation.md). The walk is driven by the compiled
element tree of each profile, falling back to the core definition of a datatype where the
profile does not constrain below an element.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.fhir.fhirpath import correction_for, default_engine
from harness.fhir.packages import PackageError, PackageSet, ig_spec
from harness.fhir.validation import primitives
from harness.fhir.validation.messages import make_issue
from harness.fhir.validation.native import native_verdict
from harness.fhir.validation.model import ElementNode, TypeRef, compile_snapshot, find_by_id
from harness.fhir.validation.outcome import Issue, ValidationResult
from harness.fhir.validation.slicing import SliceMatcher

CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
#: Checked by the walk itself (empty values, extension shape): never sent to FHIRPath.
NATIVE_CONSTRAINTS = {"ele-1", "ext-1"}
REFERENCE_RE = re.compile(r"^(?:(?P<base>.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?|#.*|urn:(?:uuid|oid):.+)$")
BINDABLE = {"code", "string", "uri", "Coding", "CodeableConcept", "Quantity"}


@dataclass
class _Run:
    """State of one top-level validation: issues, root resource, Bundle index, dedupe keys."""

    root: dict  # the resource being walked (%resource)
    top: dict | None = None  # the outermost resource (%rootResource)
    issues: list[Issue] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)
    full_urls: dict[str, dict] = field(default_factory=dict)

    def add(self, issue: Issue, *, once_key: tuple | None = None) -> None:
        key = once_key or (issue.message_id, issue.expression, issue.message)
        if key in self.seen:
            return
        self.seen.add(key)
        self.issues.append(issue)


class Validator:
    """Load the packages once, validate many resources.

    `ig`: a package spec (`0.7.0`, `0.1.1`, `name#version`, a folder or a .tgz; default the bundled
    ROR IG 0.7.0). `terminology`: an object with `check(valueset, system, code)` (default: the
    bundled NOS value sets and the packages' own, optionally backed by a terminology server).
    """

    def __init__(self, ig: str | None = None, *, packages: PackageSet | None = None,
                 tx_url: str | None = None, terminology: object | None = None) -> None:
        self.packages = packages or PackageSet(ig_spec(ig))
        if terminology is None:
            from harness.fhir.terminology import Terminology
            terminology = Terminology(self.packages, tx_url=tx_url)
        self.terminology = terminology
        self.fhirpath = default_engine()
        self._compiled: dict[str, ElementNode] = {}
        self._broken: dict[str, str] = {}
        self._resource_types: dict[str, bool] = {}
        self._default_profiles = self._find_default_profiles()
        self.slices = SliceMatcher(self)

    # -- profiles --------------------------------------------------------------------------
    def _find_default_profiles(self) -> dict[str, str]:
        """The root IG's profile for each resource type (the ROR profile of that type)."""
        out: dict[str, str] = {}
        for entry in self.packages.root.index:
            if (entry.get("resourceType") == "StructureDefinition" and entry.get("kind") == "resource"
                    and entry.get("derivation") == "constraint" and entry.get("type")):
                out.setdefault(entry["type"], entry["url"])
        return out

    def default_profile(self, resource_type: str) -> str:
        return self._default_profiles.get(resource_type, CORE_SD + resource_type)

    def compiled(self, url: str) -> ElementNode:
        """The compiled tree of a StructureDefinition (raises PackageError if unusable)."""
        url = url.partition("|")[0]
        node = self._compiled.get(url)
        if node is not None:
            return node
        if url in self._broken:
            raise PackageError(self._broken[url])
        try:
            node = compile_snapshot(self.packages.structure_definition(url))
        except PackageError as exc:
            self._broken[url] = str(exc)
            raise
        self._compiled[url] = node
        return node

    def _type_root(self, code: str) -> ElementNode | None:
        if code.startswith("http://hl7.org/fhirpath/"):
            return None
        try:
            return self.compiled(code if "/" in code else CORE_SD + code)
        except PackageError:
            return None

    # -- public API ------------------------------------------------------------------------
    def validate(self, resource: object, profile: str | None = None, *, origin: str | None = None) -> ValidationResult:
        """Validate one resource (a Bundle's entries are validated too) against its profiles.

        Profiles: `profile` if given (an unknown one raises PackageError: a usage error), else
        the resource's resolvable `meta.profile`, else the root IG's profile for its type.
        """
        if profile is not None:
            self.compiled(profile)  # fail loudly on an unknown explicit profile
        run = _Run(root=resource if isinstance(resource, dict) else {})
        run.top = run.root
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        result = ValidationResult(resource_type=rtype, resource_id=resource.get("id") if isinstance(resource, dict) else None,
                                  origin=origin)
        if isinstance(resource, dict) and rtype == "Bundle":
            for entry in resource.get("entry") or ():
                if isinstance(entry, dict) and isinstance(entry.get("fullUrl"), str) and isinstance(entry.get("resource"), dict):
                    run.full_urls[entry["fullUrl"]] = entry["resource"]
        result.profiles = self._validate_resource(resource, rtype or "Resource", run, explicit=profile)
        result.issues = run.issues
        return result

    # -- resources -------------------------------------------------------------------------
    def _profiles_for(self, resource: dict, run: _Run, path: str, explicit: str | None) -> list[str]:
        if explicit:
            return [explicit]
        claimed = (resource.get("meta") or {}).get("profile") if isinstance(resource.get("meta"), dict) else None
        usable = []
        for url in claimed if isinstance(claimed, list) else ():
            if not isinstance(url, str):
                continue
            try:
                self.compiled(url)
                usable.append(url)
            except PackageError as exc:
                known = self.packages.resolve(url.partition("|")[0], "StructureDefinition") is not None
                run.add(make_issue("profile-not-generated" if known else "profile-unknown",
                                   "warning", f"{path}.meta.profile", url=url, why=str(exc)))
        return usable or [self.default_profile(resource["resourceType"])]

    def _validate_resource(self, resource: object, path: str, run: _Run, explicit: str | None = None,
                           nested: bool = False) -> list[str]:
        if not isinstance(resource, dict):
            run.add(make_issue("json-type", "error", path, expected="object", found=primitives.json_kind(resource)))
            return []
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            run.add(make_issue("resource-type-missing", "error", path))
            return []
        profiles = self._profiles_for(resource, run, path, explicit)
        outer_root = run.root
        if nested:
            run.root = resource  # %resource is the contained/entry resource
        try:
            for url in profiles:
                try:
                    root = self.compiled(url)
                except PackageError as exc:
                    run.add(make_issue("resource-type-unknown" if url.startswith(CORE_SD) else "profile-not-generated",
                                       "information" if url.startswith(CORE_SD) else "error",
                                       path, type=rtype, url=url, why=str(exc)))
                    continue
                if root.path != rtype:
                    run.add(make_issue("resource-type-wrong", "error", path, expected=root.path, found=rtype))
                    continue
                self._walk_object(resource, root, path, run, resource_level=True)
                self._constraints(root, resource, path, run, None)
        finally:
            run.root = outer_root
        return profiles

    # -- objects and elements --------------------------------------------------------------
    def _keymap(self, node: ElementNode) -> dict[str, tuple[ElementNode, str | None]]:
        """JSON key -> (child element, type code for choice keys); cached on the node."""
        cached = getattr(node, "_keymap", None)
        if cached is not None:
            return cached
        keymap: dict[str, tuple[ElementNode, str | None]] = {}
        for child in node.children.values():
            if child.choice:
                for t in child.types:
                    keymap[child.name + t.code[:1].upper() + t.code[1:]] = (child, t.code)
            else:
                keymap[child.name] = (child, None)
        node._keymap = keymap  # type: ignore[attr-defined]
        return keymap

    def _required(self, node: ElementNode) -> list[ElementNode]:
        """Children that must be visited even when absent (a minimum, or a slice with one)."""
        cached = getattr(node, "_required", None)
        if cached is None:
            cached = [c for c in node.children.values() if c.min > 0 or any(s.min > 0 for s in c.slices)]
            node._required = cached  # type: ignore[attr-defined]
        return cached

    def _walk_object(self, obj: object, container: ElementNode, path: str, run: _Run,
                     resource_level: bool = False) -> None:
        """Check the keys of one JSON object against the children of `container`."""
        if not isinstance(obj, dict):
            run.add(make_issue("json-type", "error", path, expected="object", found=primitives.json_kind(obj)))
            return
        if not obj or (resource_level and len(obj) == 1):
            run.add(make_issue("empty", "error", path))
            return
        keymap = self._keymap(container)
        present: set[int] = set()
        for key in obj:
            if resource_level and key == "resourceType":
                continue
            entry = keymap.get(key[1:] if key.startswith("_") else key)
            if entry is None:
                run.add(make_issue("unknown-element", "error", f"{path}.{key}", name=key))
            elif obj[key] is None:  # FHIR JSON has no null values (only inside primitive arrays)
                run.add(make_issue("json-null", "error", f"{path}.{key}"))
            else:
                present.add(id(entry[0]))
        # Absent optional elements have nothing to check: visit what is there or required.
        for child in self._required(container):
            present.add(id(child))
        for child in container.children.values():
            if id(child) in present:
                self._element(obj, child, keymap, path, run)

    def _gather(self, obj: dict, child: ElementNode, keymap: dict, path: str, run: _Run) -> list[tuple]:
        """The instance items of one element: (value, primitive-extension part, type, path)."""
        if child.choice:
            keys = [k for k in obj if not k.startswith("_") and keymap.get(k, (None,))[0] is child]
            keys += [k[1:] for k in obj if k.startswith("_") and keymap.get(k[1:], (None,))[0] is child and k[1:] not in obj]
            if not keys:
                return []
            if len(keys) > 1:
                run.add(make_issue("choice-multiple", "error", f"{path}.{child.name}", name=child.name, found=", ".join(keys)))
            key = keys[0]
            type_code = keymap[key][1]
            value, ext = obj.get(key), obj.get("_" + key)
            epath = f"{path}.{child.name}.ofType({type_code})"
            return [(value, ext, type_code, epath)] if not isinstance(value, list) else \
                [(v, None, type_code, f"{epath}[{i}]") for i, v in enumerate(value)]
        value, ext = obj.get(child.name), obj.get("_" + child.name)
        if value is None and ext is None:
            return []
        type_code = child.types[0].code if len(child.types) == 1 else None
        epath = f"{path}.{child.name}"
        if child.repeats:
            if (value is not None and not isinstance(value, list)) or (ext is not None and not isinstance(ext, list)):
                run.add(make_issue("json-array-expected", "error", epath))
                value = [value] if value is not None and not isinstance(value, list) else value
                ext = [ext] if ext is not None and not isinstance(ext, list) else ext
            values, exts = value or [], ext or []
            n = max(len(values), len(exts))
            return [(values[i] if i < len(values) else None, exts[i] if i < len(exts) else None,
                     type_code, f"{epath}[{i}]") for i in range(n)]
        if isinstance(value, list) or isinstance(ext, list):
            run.add(make_issue("json-array-unexpected", "error", epath))
            return []
        return [(value, ext, type_code, epath)]

    def _element(self, obj: dict, child: ElementNode, keymap: dict, path: str, run: _Run) -> None:
        items = self._gather(obj, child, keymap, path, run)
        self._cardinality(child, len(items), path, f"{path}.{child.name}", run)
        if child.slices and items:
            assigned = self.slices.assign(items, child, run)
            for item, slice_node in zip(items, assigned):
                self._item(item, slice_node or child, run)
            self.slices.check_counts(items, assigned, child, path, run)
        else:
            if child.slices:  # no items: the slices' minimums still apply
                self.slices.check_counts(items, [], child, path, run)
            for item in items:
                self._item(item, child, run)

    def _cardinality(self, node: ElementNode, count: int, parent_path: str, path: str, run: _Run) -> None:
        if count < node.min:
            run.add(make_issue("cardinality-min", "error", parent_path if count == 0 else path,
                               element=node.id, min=node.min, count=count))
        if node.max is not None and count > node.max:
            run.add(make_issue("cardinality-max", "error", path, element=node.id, max=node.max, count=count))

    # -- one item --------------------------------------------------------------------------
    def _item(self, item: tuple, node: ElementNode, run: _Run) -> None:
        value, ext, type_code, path = item
        if node.content_reference:
            target = self._content_reference(node)
            if target is None:
                return
            node = target
            type_code = None
        if type_code is None:
            type_code = node.types[0].code if node.types else "BackboneElement"
            if len(node.types) > 1 and isinstance(value, dict) and "resourceType" in value:
                type_code = "Resource"
        if primitives.is_primitive(type_code):
            self._primitive(value, ext, node, type_code, path, run)
        elif value is None:
            run.add(make_issue("empty", "error", path))
        else:
            self._complex(value, node, type_code, path, run)

    def _content_reference(self, node: ElementNode) -> ElementNode | None:
        target_id = node.content_reference.split("#", 1)[-1]
        try:
            return find_by_id(self.compiled(node.profile_url), target_id)
        except PackageError:
            return None

    def _primitive(self, value: object, ext: object, node: ElementNode, type_code: str, path: str, run: _Run) -> None:
        if value is None and ext is None:
            run.add(make_issue("empty", "error", path))
            return
        if value is not None:
            problem = primitives.check(type_code, value, node.max_length)
            if problem is not None:
                message_id, args = problem
                run.add(make_issue(message_id, "error", path, **args))
                return
            self._fixed_pattern(value, node, path, run)
            if node.binding and type_code in BINDABLE:
                self._binding([(None, value)], node, path, run, type_code)
            if node.constraints:
                self._constraints(node, value, path, run, type_code)
        if ext is not None:
            container = node if node.children else self._type_root(type_code)
            if container is not None:
                self._walk_object(ext, container, path, run)

    def _complex(self, value: object, node: ElementNode, type_code: str, path: str, run: _Run) -> None:
        if type_code == "Resource" or (type_code[:1].isupper() and self._is_resource_type(type_code)):
            self._validate_resource(value, path, run, nested=True)
            return
        if not isinstance(value, dict):
            run.add(make_issue("json-type", "error", path, expected="object", found=primitives.json_kind(value)))
            return
        type_ref = next((t for t in node.types if t.code == type_code), None)
        if type_code == "Extension":
            self._extension(value, node, type_ref, path, run)
        else:
            containers = self._containers(node, type_code, type_ref)
            if not containers:
                run.add(make_issue("type-not-checked", "information", path, type=type_code),
                        once_key=("type-not-checked", type_code))
            for container in containers:
                self._walk_object(value, container, path, run)
                if container is not node:
                    self._constraints(container, value, path, run, container.path)
            type_root = self._type_root(type_code)
            if type_root is not None and type_root not in containers:
                # the profile expanded the datatype's children: its own invariants (per-1 ...) still apply
                self._constraints(type_root, value, path, run, type_code)
        self._constraints(node, value, path, run, node.path if type_code in ("BackboneElement", "Element") else type_code)
        self._fixed_pattern(value, node, path, run)
        if node.binding and type_code in BINDABLE:
            self._binding(primitives.codings(type_code, value), node, path, run, type_code)
        if type_code == "Reference":
            self._reference(value, type_ref, path, run)

    def _is_resource_type(self, code: str) -> bool:
        known = self._resource_types.get(code)
        if known is None:
            sd = self.packages.resolve(CORE_SD + code, "StructureDefinition")
            known = self._resource_types[code] = bool(sd and sd.get("kind") == "resource")
        return known

    def _containers(self, node: ElementNode, type_code: str, type_ref: TypeRef | None) -> list[ElementNode]:
        """What defines the children of a complex item: the element's own expanded children,
        and/or the type's profile(s), else the core datatype definition."""
        containers: list[ElementNode] = [node] if node.children else []
        for url in type_ref.profiles if type_ref else ():
            try:
                containers.append(self.compiled(url))
            except PackageError:
                continue
        if not containers:
            root = self._type_root(type_code)
            if root is not None:
                containers.append(root)
        return containers

    def _extension(self, value: dict, node: ElementNode, type_ref: TypeRef | None, path: str, run: _Run) -> None:
        url = value.get("url")
        if "extension" in value and any(k.startswith("value") for k in value):
            run.add(make_issue("extension-value-and-children", "error", path))
        profiles = list(type_ref.profiles) if type_ref else []
        containers: list[ElementNode] = [node] if node.children else []
        if not profiles and not containers:
            if not isinstance(url, str):
                run.add(make_issue("extension-url-missing", "error", path))
            elif self.packages.resolve(url, "StructureDefinition") is not None:
                profiles = [url]
            else:
                modifier = ".modifierExtension" in path.rsplit("[", 1)[0][-20:]
                run.add(make_issue("modifier-extension-unknown" if modifier else "extension-unknown",
                                   "error" if modifier else "warning", path, url=url))
        for purl in profiles:
            try:
                containers.append(self.compiled(purl))
            except PackageError as exc:
                run.add(make_issue("profile-not-generated", "error", path, url=purl, why=str(exc)))
        if not containers:
            generic = self._type_root("Extension")
            containers = [generic] if generic else []
        for container in containers:
            self._walk_object(value, container, path, run)
            if container is not node:
                self._constraints(container, value, path, run, "Extension")

    # -- value checks ----------------------------------------------------------------------
    def _fixed_pattern(self, value: object, node: ElementNode, path: str, run: _Run) -> None:
        if node.fixed is not None and value != node.fixed:
            run.add(make_issue("fixed-value", "error", path, expected=primitives.show(node.fixed), found=primitives.show(value)))
        if node.pattern is not None and not primitives.matches_pattern(value, node.pattern):
            run.add(make_issue("pattern-value", "error", path, expected=primitives.show(node.pattern), found=primitives.show(value)))

    def _binding(self, codings: Iterable[tuple[str | None, str]], node: ElementNode, path: str, run: _Run,
                 type_code: str) -> None:
        strength, valueset = node.binding  # type: ignore[misc]
        if strength == "example":
            return
        codings = [c for c in codings if isinstance(c[1], str)]
        if not codings:
            if strength == "required" and type_code == "CodeableConcept":
                run.add(make_issue("binding-no-code", "error", path, valueset=valueset))
            return
        failures = []
        for system, code in codings:
            verdict = self.terminology.check(valueset, system, code)
            if verdict.status == "member":
                return
            if verdict.status == "not-checked":
                run.add(make_issue("binding-not-checked", "information", path, source=verdict.source,
                                   valueset=valueset, why=verdict.message), once_key=("binding-not-checked", valueset))
                return
            if verdict.status == "inconclusive":
                run.add(make_issue("binding-inconclusive", "warning", path, source=verdict.source,
                                   valueset=valueset, why=verdict.message), once_key=("binding-inconclusive", valueset))
                return
            failures.append((system, code, verdict.source))
        severity = {"required": "error", "extensible": "warning", "preferred": "information"}.get(strength)
        if severity is None:
            return
        system, code, source = failures[0]
        run.add(make_issue(f"binding-{strength}", severity, path, source=source,
                           code=code, system=system or "-", valueset=valueset))

    def _reference(self, value: dict, type_ref: TypeRef | None, path: str, run: _Run) -> None:
        ref = value.get("reference")
        if not isinstance(ref, str):
            return
        match = REFERENCE_RE.match(ref)
        if match is None:
            run.add(make_issue("reference-format", "error", f"{path}.reference", reference=ref))
            return
        target_type = match.group("type")
        if ref in run.full_urls:  # resolvable inside the Bundle: the real type wins
            target_type = run.full_urls[ref].get("resourceType", target_type)
        if not target_type or type_ref is None or not type_ref.target_profiles:
            return
        allowed = self._target_types(type_ref.target_profiles)
        if allowed and "Resource" not in allowed and target_type not in allowed:
            run.add(make_issue("reference-target", "error", f"{path}.reference", found=target_type,
                               allowed=", ".join(sorted(allowed))))

    def _target_types(self, target_profiles: tuple[str, ...]) -> set[str]:
        types = set()
        for url in target_profiles:
            sd = self.packages.resolve(url.partition("|")[0], "StructureDefinition")
            types.add(sd.get("type") if sd else url.rsplit("/", 1)[-1])
        return types

    def _constraints(self, node: ElementNode, value: object, path: str, run: _Run, focus_type: str | None) -> None:
        """Evaluate the element's invariants on one item (`focus_type` types a non-resource focus)."""
        for c in node.constraints:
            if c.key in NATIVE_CONSTRAINTS or not c.expression:
                continue
            ok = native_verdict(c.key, c.expression, value)
            if ok is not None:
                if not ok:
                    run.add(make_issue("invariant-failed", c.severity, path, source=f"{node.profile_url}#{node.id}",
                                       key=c.key, human=c.human))
                continue
            try:
                ok = self.fhirpath.check_invariant(c.expression, value, type=focus_type, resource=run.root,
                                                   root=run.top or run.root)
            except Exception as exc:  # noqa: BLE001 - any engine failure means "not checked", never a pass
                run.add(make_issue("invariant-not-checked", "information", path, source=node.profile_url,
                                   key=c.key, why=getattr(exc, "reason", None) or str(exc) or type(exc).__name__),
                        once_key=("invariant-not-checked", c.key))
                continue
            if not ok:
                correction = correction_for(c.expression)
                source = f"{node.profile_url}#{node.id}" + (f"; evaluated as corrected: {correction.reason}" if correction else "")
                run.add(make_issue("invariant-failed", c.severity if c.severity in ("error", "warning", "information") else "error",
                                   path, source=source, key=c.key, human=c.human))

