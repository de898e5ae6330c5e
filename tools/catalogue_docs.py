"""Write the catalogue documentation from the scenario files themselves:

- docs/catalogue.md           every scenario: id, French title, priority, area, requirements,
                              IG scenarios, the faults that prove it;
- docs/coverage-ig.md         each of the IG's 82 use-case scenarios with the scenarios that
                              exercise it, and why the others are not (draft, deprecated,
                              outside the server CapabilityStatement, server-only entry, gap);
- docs/coverage-capability.md each interaction, search parameter and include of the IG 0.7.0
                              server CapabilityStatement (ror-serveur, from the bundled package)
                              with the scenarios whose requests use it, and why the others are not;
- docs/coverage-capability-consumer.md the same for the consumer CapabilityStatement
                              (ror-consommateur) and the requests the consumer scenarios expect.

Why generated: the documents then cannot drift from the catalogue; tests/test_catalogue_docs.py
fails when the committed files differ from what this writes. Inputs: the bundled scenarios,
fixtures/ig/ig-scenarios.json (extracted once from the IG transcription by
tools/extract_ig_scenarios.py) and the vendored IG package; nothing else, no network.

Run: python tools/catalogue_docs.py [--write-docs DIR] [--check]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.checks.search_params import SearchParameters  # noqa: E402
from harness.fhir.packages import DEFAULT_IG, PackageSet  # noqa: E402
from harness.fhir.search_corrections import SERVER_CAPABILITY  # noqa: E402
from harness.pytest_plugin.catalogue import load_catalogue  # noqa: E402
from harness.refserver.search.registry import SPECIAL, Registry  # noqa: E402
from harness.scenario import Scenario  # noqa: E402

IG_DATA = ROOT / "fixtures" / "ig" / "ig-scenarios.json"
SCENARIOS = ROOT / "scenarios"
DOCS = ROOT / "docs"
FILES = ("catalogue.md", "coverage-ig.md", "coverage-capability.md", "coverage-capability-consumer.md")
CONSUMER_CAPABILITY = "https://interop.esante.gouv.fr/ig/fhir/ror/CapabilityStatement/ror-consommateur"

PRIORITY = {1: "1 critique", 2: "2 majeur", 3: "3 mineur"}
FLAG_FR = {"draft": "brouillon (draft)", "deprecated": "déprécié (deprecated)",
           "under consideration": "en réflexion (under consideration)"}
FLAG_SHORT = {"draft": "brouillon", "deprecated": "dépréciés", "under consideration": "en réflexion"}
#: The IG's standard include set, written <INCLUDES> in the transcription (its §1.5).
INCLUDES = ("&_include=HealthcareService:organization&_include:iterate=Organization:partof"
            "&_include=HealthcareService:location&_revinclude=PractitionerRole:service"
            "&_include=PractitionerRole:practitioner")
#: Search control parameters: declared at rest level by ror-serveur, or not parameters at all.
CONTROL = {"_count", "_sort", "_include", "_revinclude", "_format", "_pretty", "_elements", "_summary",
           "_total", "_contained", "_containedType"}
_FILTER_PARAM = re.compile(r"([A-Za-z_][A-Za-z0-9_.:-]*)\s*(?:=|\b(?:eq|ne|gt|lt|ge|le|sa|eb|ap|co|sw|ew)\b)")
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}")
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")


def cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def keys(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items) if items else "—"


# -- what a request exercises ---------------------------------------------------------------------


class Usage:
    """Which (type, interaction), (type, search parameter) and includes a set of requests uses."""

    def __init__(self, params: SearchParameters) -> None:
        self.params = params
        self.interactions: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.search: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.includes: dict[tuple[str, str], set[str]] = defaultdict(set)  # (_include | _revinclude, value)
        self.rest: dict[str, set[str]] = defaultdict(set)  # rest-level searchParam / operation

    def request(self, who: str, method: str, path: str, query: list[tuple[str, str]]) -> None:
        path = _TEMPLATE.sub("X", path).split("?", 1)[0]
        parts = [p for p in path.strip("/").split("/") if p]
        if not parts or not (_TYPE.match(parts[0]) or parts[0].startswith("$") or parts[0] == "metadata"):
            return  # a saved absolute URL (next page, polling): not a new interaction
        if parts[0] == "metadata":
            self.rest["capabilities"].add(who)
            return
        if any(p.startswith("$") for p in parts):
            operation = next(p for p in parts if p.startswith("$"))[1:]
            if operation == "export":
                self.rest["operation:export"].add(who)
            return
        rtype = parts[0]
        if method == "GET" and len(parts) >= 4 and parts[2] == "_history":
            interaction = "vread"
        elif method in ("GET", "HEAD"):
            interaction = "read" if len(parts) >= 2 else "search-type"
        elif method == "POST":
            interaction = "search-type" if parts[-1] == "_search" else "create"
        elif method == "PUT":
            interaction = "update"
        elif method == "PATCH":
            interaction = "patch"
        else:
            interaction = method.lower()
        self.interactions[(rtype, interaction)].add(who)
        if interaction == "search-type":
            for name, value in query:
                self.parameter(who, rtype, name, value)

    def parameter(self, who: str, rtype: str, name: str, value: str) -> None:
        if name in ("_include", "_revinclude") or name.startswith(("_include:", "_revinclude:")):
            kind = name.split(":", 1)[0]
            for one in value.split(","):
                self.includes[(kind, one.strip())].add(who)
            self.rest[kind].add(who)
            return
        if name in CONTROL:
            self.rest[name].add(who)
            return
        if name == "_filter":
            for inner in _FILTER_PARAM.findall(value):
                if inner.lower() not in ("and", "or", "not"):
                    self.parameter(who, rtype, inner, "")
            self.search[(rtype, "_filter")].add(who)
            return
        for target, param in self.resolve(rtype, name):
            self.search[(target, param)].add(who)

    def resolve(self, rtype: str, name: str) -> list[tuple[str, str]]:
        """(type, parameter) pairs a criterion uses: the chain's last link is credited to its type."""
        if name.startswith("_has:"):
            bits = name.split(":", 3)
            if len(bits) == 4:  # _has:Type:reference:criterion
                return [(rtype, "_has"), *self.resolve(bits[1], bits[3])]
            return [(rtype, "_has")]
        head, dot, rest = name.partition(".")
        base, _, modifier = head.partition(":")
        if not dot:
            return [(rtype, base)]
        if modifier and _TYPE.match(modifier):
            targets: tuple[str, ...] = (modifier,)
        else:
            definition = self.params.get(rtype, base)
            targets = definition.targets if definition and definition.targets else ()
        found = [(rtype, base)]
        for target in targets[:1]:
            found += self.resolve(target, rest)
        return found


def scenario_usage(scenarios: list[Scenario], params: SearchParameters) -> Usage:
    """What the scenarios' requests use: the requests a server scenario sends, or those a consumer
    scenario expects (a parameter it requires absent does not count)."""
    usage = Usage(params)
    for s in scenarios:
        if s.role == "consumer":
            for e in s.consumer.expectations:
                usage.request(s.id, e.method, e.path, [(k, v) for k, c in e.query.items() for v in _expected_values(c)])
            continue
        for step in s.steps:
            query = [(k, str(v)) for k, v in step.request.query]
            usage.request(s.id, step.request.method, step.request.path, query)
    return usage


def _expected_values(constraint: object) -> list[str]:
    if isinstance(constraint, dict):
        return [] if constraint.get("present") is False else [str(constraint.get("equals", ""))]
    if isinstance(constraint, list):
        return [str(v) for v in constraint]
    return [str(constraint)]


def ig_usage(ig: list[dict], params: SearchParameters) -> Usage:
    usage = Usage(params)
    for s in ig:
        for r in s["requests"]:
            line = r["request"].replace("<INCLUDES>", INCLUDES)
            target = line.split("[BASE]/", 1)[1].strip()
            path, _, query = target.partition("?")
            usage.request(s["key"], r["method"], path.replace("XXX", "X").replace("YYY", "X"),
                          [(unquote(k), v) for k, v in parse_qsl(query, keep_blank_values=True)])
    return usage


# -- documents ------------------------------------------------------------------------------------


def _servers(scenarios: list[Scenario]) -> list[Scenario]:
    return [s for s in scenarios if s.role == "server"]


def render_catalogue(scenarios: list[Scenario]) -> str:
    servers = _servers(scenarios)
    consumers = [s for s in scenarios if s.role == "consumer"]
    out = ["# Catalogue des scénarios", "",
           "Généré par `python tools/catalogue_docs.py` à partir des fichiers `scenarios/**/ROR-*.yaml` : ne pas "
           "modifier à la main (`tests/test_catalogue_docs.py` vérifie qu'il est à jour). Durée d'une exécution "
           "complète contre le serveur embarqué et ce qui la domine : [speed.md](speed.md). Couverture : "
           "[scénarios de l'IG](coverage-ig.md), [CapabilityStatement serveur](coverage-capability.md).", ""]
    by_priority = {p: sum(1 for s in servers if s.priority == p) for p in PRIORITY}
    out.append(f"{len(servers)} scénarios serveur ({', '.join(f'{n} en priorité {PRIORITY[p]}' for p, n in by_priority.items())})"
               f", {len(consumers)} scénarios consommateur. Chaque scénario serveur est prouvé : il réussit contre le "
               "serveur de référence sain et échoue, à l'étape qui le concerne, contre chaque anomalie de `prouvé par` "
               "(`tests/test_scenario_catalogue.py`).")
    out.append("")
    for role, chosen in (("serveur", servers), ("consommateur", consumers)):
        areas: dict[str, list[Scenario]] = defaultdict(list)
        for s in chosen:
            areas[s.area or "(sans domaine)"].append(s)
        for area in sorted(areas, key=lambda a: min(x.id for x in areas[a])):
            out += [f"## {role.capitalize()} — {area}", "",
                    "| id | titre | priorité | exigences | scénarios IG | prouvé par |", "|---|---|---|---|---|---|"]
            for s in sorted(areas[area], key=lambda x: x.id):
                proofs = ", ".join(dict.fromkeys(f"`{p.fault}`" for p in s.proven_by)) or "—"
                out.append(f"| {s.id} | {cell(s.title)} | {PRIORITY[s.priority]} | "
                           f"{'<br>'.join(cell(r) for r in s.requirements)} | {keys(s.ig_scenarios)} | {proofs} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _declared(cs: dict) -> tuple[dict[str, dict], dict]:
    rest = cs["rest"][0]  # one rest entry: mode server (ror-serveur) or client (ror-consommateur)
    return {r["type"]: r for r in rest["resource"]}, rest


def _interaction_declared(resources: dict[str, dict], rtype: str, interaction: str) -> bool:
    codes = {i["code"] for i in resources.get(rtype, {}).get("interaction", [])}
    return interaction.split(" ")[0] in codes


def _why_not_ig(s: dict, resources: dict[str, dict], rest: dict, covered: dict[str, list[str]]) -> tuple[str, str]:
    """(category, French reason) for an IG scenario no server scenario names."""
    if s["flag"]:
        return (f"IG {FLAG_FR[s['flag']]}",
                f"IG : {FLAG_FR[s['flag']]}, pas encore implémenté ou plus maintenu par le ROR national")
    for r in s["requests"]:
        if r["resource"].startswith("$"):
            if not any(o["name"] == r["resource"][1:] for o in rest.get("operation", [])):
                return "hors CapabilityStatement ror-serveur", f"opération {r['resource']} absente de ror-serveur"
        elif r["resource"] not in resources:
            return "hors CapabilityStatement ror-serveur", f"type {r['resource']} absent de ror-serveur"
        elif not _interaction_declared(resources, r["resource"], r["interaction"]):
            return ("hors CapabilityStatement ror-serveur",
                    f"interaction {r['interaction']} de {r['resource']} non déclarée par ror-serveur")
    if s["see"]:
        other = ", ".join(f"{k} ({keys(covered[k]) if covered.get(k) else 'non couvert'})" for k in s["see"])
        return "reprend la requête d'un autre scénario de l'IG", f"reprend la requête de {other}"
    if "[spécifique serveur]" in s["labels"]:
        return ("[spécifique serveur], pas encore de scénario",
                "[spécifique serveur] : « Cette requête ne pourra être exécutée que par le serveur » (saisie de "
                "l'offre par le ROR national, pas une requête de consommateur) ; pas encore de scénario")
    return "lacune : pas encore de scénario", "pas encore de scénario (lacune)"


def render_coverage_ig(scenarios: list[Scenario], ig: dict, cs: dict) -> str:
    resources, rest = _declared(cs)
    known = {s["key"] for s in ig["scenarios"]}
    covered_server: dict[str, list[str]] = defaultdict(list)
    covered_consumer: dict[str, list[str]] = defaultdict(list)
    unknown: list[tuple[str, str]] = []
    for s in sorted(scenarios, key=lambda x: x.id):
        for key in s.ig_scenarios:
            if key not in known:
                unknown.append((s.id, key))
            (covered_server if s.role == "server" else covered_consumer)[key].append(s.id)
    reasons: dict[str, int] = defaultdict(int)
    rows_by_section: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for s in ig["scenarios"]:
        status = " ; ".join(([FLAG_FR[s["flag"]]] if s["flag"] else []) + s["labels"]) or "—"
        servers = covered_server.get(s["key"], [])
        category, why = ("couvert", "—") if servers else _why_not_ig(s, resources, rest, covered_server)
        reasons[category] += 1
        rows_by_section[(s["section"], s["use_case"], s["page"])].append(
            f"| {s['key']} | {cell(s['title'])} | {cell(status)} | {keys(servers)} | "
            f"{keys(covered_consumer.get(s['key'], []))} | {cell(why)} |")
    total = len(ig["scenarios"])
    n_covered = sum(1 for s in ig["scenarios"] if covered_server.get(s["key"]))
    out = ["# Couverture des scénarios de l'IG ROR 0.7.0", "",
           "Généré par `python tools/catalogue_docs.py` : ne pas modifier à la main. Les 82 scénarios de l'IG "
           "viennent de `fixtures/ig/ig-scenarios.json`, extrait une fois de la transcription `ig-use-cases.md` par "
           f"`tools/extract_ig_scenarios.py` (sha256 de la source `{ig['provenance']['source_sha256'][:16]}…`). "
           "Un scénario de l'IG est couvert quand un scénario serveur le nomme dans `ig_scenarios`.", "",
           f"**{n_covered} / {total} couverts par au moins un scénario serveur.** Non couverts, par raison :", ""]
    for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        if reason != "couvert":
            out.append(f"- {cell(reason)} : {count}")
    out.append("")
    for (number, use_case, page), rows in rows_by_section.items():
        out += [f"## {number} {use_case} (`{page}`)", "",
                "| clé | scénario de l'IG | statut IG | scénarios serveur | scénarios consommateur | non couvert : pourquoi |",
                "|---|---|---|---|---|---|", *rows, ""]
    notes = [s for s in sorted(_servers(scenarios), key=lambda x: x.id) if s.ig_scenarios_note]
    out += ["## Scénarios du banc : règles hors scénarios de l'IG", "",
            "Ce que chaque scénario serveur vérifie au-delà des scénarios de l'IG qu'il nomme (ou à leur place) : "
            "règles transverses de l'IG (§1.2 préconditions, §1.3 réponses), API nationale (§5), FHIR.", "",
            "| id | titre | scénarios IG | note |", "|---|---|---|---|"]
    out += [f"| {s.id} | {cell(s.title)} | {keys(s.ig_scenarios)} | {cell(s.ig_scenarios_note)} |" for s in notes]
    missing = [s for s in _servers(scenarios) if not s.ig_scenarios and not s.ig_scenarios_note]
    out += ["", "## Scénarios serveur sans scénario IG ni note", ""]
    out += [f"- {s.id} — {cell(s.title)}" for s in sorted(missing, key=lambda x: x.id)] or ["Aucun."]
    out += ["", "## Clés IG inconnues", ""]
    out += [f"- {sid} nomme {key}, qui n'est pas l'un des 82 scénarios" for sid, key in unknown] or ["Aucune."]
    return "\n".join(out).rstrip() + "\n"


def _ig_refs(usage: Usage, ig_by_key: dict[str, dict], who: Iterable[str]) -> str:
    keys_ = sorted(who, key=_key_order)
    live = [k for k in keys_ if not ig_by_key[k]["flag"]]
    if live and all("[spécifique serveur]" in ig_by_key[k]["labels"] for k in live):
        return (f"employé par {', '.join(live)} ([spécifique serveur] : requêtes du seul serveur ROR) ; pas encore "
                "de scénario")
    if live:
        return f"employé par {', '.join(live)} : pas encore de scénario (lacune)"
    if keys_:
        flags = sorted({FLAG_SHORT[ig_by_key[k]["flag"]] for k in keys_})
        return f"employé seulement par des scénarios IG {'/'.join(flags)} ({', '.join(keys_)})"
    return "employé par aucun scénario de l'IG ; pas encore de scénario"


def _key_order(key: str) -> tuple:
    prefix, _, number = key.partition("-S")
    digits = re.match(r"\d+", number)
    return (prefix, int(digits.group()) if digits else 0, number)


#: Per role: the CapabilityStatement, the title of its document, and how a scenario exercises it.
CAPABILITY_DOCS = {
    "server": (SERVER_CAPABILITY, "serveur (ror-serveur, IG 0.7.0)",
               "Un élément est exercé par un scénario serveur dont une étape envoie la requête correspondante (méthode "
               "et chemin ; paramètres de recherche de la requête, le dernier maillon d'une chaîne compté pour son type). "
               "`requires` ne compte pas : un scénario exerce ce qu'il envoie."),
    "consumer": (CONSUMER_CAPABILITY, "consommateur (ror-consommateur, IG 0.7.0)",
                 "Un élément est exercé par un scénario consommateur dont une étape attendue (`expect_request`) exige "
                 "la requête correspondante (méthode et chemin ; paramètres de recherche exigés présents, le dernier "
                 "maillon d'une chaîne compté pour son type) : le consommateur doit l'envoyer pour réussir."),
}


def render_coverage_capability(scenarios: list[Scenario], ig: dict, cs: dict, params: SearchParameters,
                               registry: Registry, role: str = "server") -> str:
    resources, rest = _declared(cs)
    used = scenario_usage([s for s in scenarios if s.role == role], params)
    ig_used = ig_usage(ig["scenarios"], params)
    ig_by_key = {s["key"]: s for s in ig["scenarios"]}
    url, title, rule = CAPABILITY_DOCS[role]
    out = [f"# Couverture du CapabilityStatement {title}", "",
           "Généré par `python tools/catalogue_docs.py` : ne pas modifier à la main. Source : le CapabilityStatement "
           f"`{url}` du paquet embarqué `{DEFAULT_IG}`. {rule}", ""]
    rows, missing = [], 0
    for rtype, resource in resources.items():
        for interaction in [i["code"] for i in resource.get("interaction", [])]:
            who = sorted(used.interactions.get((rtype, interaction), ()))
            why = "—" if who else _ig_refs(ig_used, ig_by_key, ig_used.interactions.get((rtype, interaction), ()))
            missing += not who
            rows.append(f"| {rtype} | {interaction} | {keys(who)} | {cell(why)} |")
        for operation in resource.get("operation", []):
            who = sorted(used.rest.get(f"operation:{operation['name']}", ()))
            rows.append(f"| {rtype} | ${operation['name']} | {keys(who)} | {'—' if who else 'pas encore de scénario'} |")
    for operation in rest.get("operation", []):
        who = sorted(used.rest.get(f"operation:{operation['name']}", ()))
        why = "—" if who else _ig_refs(ig_used, ig_by_key, ig_used.rest.get(f"operation:{operation['name']}", ()))
        missing += not who
        rows.append(f"| (système) | ${operation['name']} | {keys(who)} | {cell(why)} |")
    who = sorted(used.rest.get("capabilities", ()))
    rows.append(f"| (système) | capabilities (GET /metadata) | {keys(who)} | {'—' if who else 'pas encore de scénario'} |")
    out += ["## Interactions", "", f"{len(rows) - missing} / {len(rows)} exercées.", "",
            "| ressource | interaction | scénarios | non exercée : pourquoi |", "|---|---|---|---|", *rows, ""]

    rows, seen, exercised = [], set(), 0
    for rtype, resource in resources.items():
        for param in resource.get("searchParam", []):
            name = param["name"]
            if (rtype, name) in seen:
                continue  # ror-serveur lists Task _id twice
            seen.add((rtype, name))
            who = sorted(used.search.get((rtype, name), ()))
            if who:
                exercised += 1
                why = "—"
            elif name not in SPECIAL and registry.get(rtype, name) is None:
                why = "non implémenté par le serveur de référence : aucun scénario ne peut être prouvé"
            else:
                why = _ig_refs(ig_used, ig_by_key, ig_used.search.get((rtype, name), ()))
            rows.append(f"| {rtype} | {name} | {param.get('type', '')} | {keys(who)} | {cell(why)} |")
    for param in rest.get("searchParam", []):
        who = sorted(used.rest.get(param["name"], ()))
        exercised += bool(who)
        why = "—" if who else _ig_refs(ig_used, ig_by_key, ig_used.rest.get(param["name"], ()))
        rows.append(f"| (toutes) | {param['name']} | {param.get('type', '')} | {keys(who)} | {cell(why)} |")
    out += ["## Paramètres de recherche", "", f"{exercised} / {len(rows)} exercés.", "",
            "| ressource | paramètre | type | scénarios | non exercé : pourquoi |", "|---|---|---|---|---|", *rows, ""]

    rows, exercised = [], 0
    for rtype, resource in resources.items():
        for kind, field in (("_include", "searchInclude"), ("_revinclude", "searchRevInclude")):
            values = [v.strip() for item in resource.get(field, []) for v in item.split(",") if v.strip()]
            for value in values:
                who = sorted(used.includes.get((kind, value), ()))
                exercised += bool(who)
                why = "—" if who else _ig_refs(ig_used, ig_by_key, ig_used.includes.get((kind, value), ()))
                rows.append(f"| {rtype} | {kind}={value} | {keys(who)} | {cell(why)} |")
    out += ["## Inclusions déclarées", "", f"{exercised} / {len(rows)} exercées.", "",
            "| ressource | inclusion | scénarios | non exercée : pourquoi |", "|---|---|---|---|", *rows, ""]
    return "\n".join(out).rstrip() + "\n"


def generate() -> dict[str, str]:
    """The three documents, by file name, from the bundled catalogue and the vendored data."""
    catalogue = load_catalogue([SCENARIOS], shown_from=ROOT)
    if catalogue.problems:
        raise SystemExit("broken scenario files:\n" + "\n".join(str(p) for p in catalogue.problems))
    ig = json.loads(IG_DATA.read_text(encoding="utf-8"))
    packages = PackageSet(DEFAULT_IG)
    cs = packages.resolve(SERVER_CAPABILITY, "CapabilityStatement")
    consumer_cs = packages.resolve(CONSUMER_CAPABILITY, "CapabilityStatement")
    params = SearchParameters(packages)
    registry = Registry(packages)
    scenarios = catalogue.scenarios
    return {"catalogue.md": render_catalogue(scenarios),
            "coverage-ig.md": render_coverage_ig(scenarios, ig, cs),
            "coverage-capability.md": render_coverage_capability(scenarios, ig, cs, params, registry),
            "coverage-capability-consumer.md": render_coverage_capability(scenarios, ig, consumer_cs, params, registry,
                                                                          "consumer")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/catalogue.md, docs/coverage-ig.md and "
                                                 "docs/coverage-capability*.md from the scenario files.")
    parser.add_argument("--write-docs", metavar="DIR", type=Path, default=DOCS, help="folder to write (default docs/)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file differs")
    args = parser.parse_args(argv)
    documents = generate()
    stale = [name for name, text in documents.items()
             if not (args.write_docs / name).is_file() or (args.write_docs / name).read_text(encoding="utf-8") != text]
    if args.check:
        for name in stale:
            print(f"{args.write_docs / name} is stale: run python tools/catalogue_docs.py", file=sys.stderr)
        return 1 if stale else 0
    args.write_docs.mkdir(parents=True, exist_ok=True)
    for name, text in documents.items():
        (args.write_docs / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(str(args.write_docs / n) for n in FILES)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
