"""The `search` check: search semantics judged by the harness across every page of the result.

Always checked (paging coherence): next pages answer 200 with a Bundle, no page comes back
(cycle), no match appears twice, no page holds more matches than `_count`, `total` is the
same on every page. On request: every match satisfies every criterion (`matches`), `total`
equals the matches really returned (`total`), known resources are found (`contains`), counts
(`min_matches`, `max_matches`), `_include` targets present (`includes`), entry modes (`modes`),
the order `_sort` asks (`sorted`).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.checks import paging
from harness.checks.context import Finding, NotJson, RefusedUrl, Response, StepContext
from harness.checks.registry import register
from harness.checks.search_query import Judge, Query, Unjudgeable, parse_query
from harness.checks import search_values as sv
from harness.checks.search_values import reference_key

#: References a chain may read from the target when the Bundle does not include them.
MAX_RESOLVED = 50
#: Offending resources named in one finding.
SHOWN = 5
#: Parameter types whose order the harness judges for `sorted`: strings, tokens and references sort
#: by the server's collation, which FHIR leaves open.
ORDERED_TYPES = ("date", "number", "quantity")


class Results:
    """The entries of every page, indexed: matches in order, everything by `Type/id`."""

    def __init__(self, resource_type: str, pages: list[paging.Page]) -> None:
        self.resource_type = resource_type
        self.matches: list[tuple[int, str, dict]] = []  # (page, key, resource)
        self.entries: list[tuple[int, dict]] = []
        self.by_key: dict[str, dict] = {}
        for page in pages:
            for entry in page.body.get("entry") or ():
                if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                    continue
                resource = entry["resource"]
                key = f"{resource.get('resourceType')}/{resource.get('id')}"
                self.entries.append((page.number, entry))
                self.by_key.setdefault(key, resource)
                if self.is_match(entry):
                    self.matches.append((page.number, key, resource))

    def is_match(self, entry: dict) -> bool:
        """A match of this search: the searched type, marked match (or unmarked). Another type
        marked match is not counted here: it is the `modes` check's finding."""
        return entry["resource"].get("resourceType") == self.resource_type and \
            (entry.get("search") or {}).get("mode", "match") == "match"

    def distinct(self) -> list[str]:
        return list(dict.fromkeys(key for _, key, _ in self.matches))


def _searched_type(path: str) -> str:
    return path.strip("/").split("/")[0]


def _coherence(results: Results, walk: paging.Walk, query: Query) -> list[Finding]:
    findings = []
    first_page: dict[str, int] = {}
    for page, key, _ in results.matches:
        if key in first_page:
            findings.append(Finding("search.paging", "chaque correspondance une seule fois",
                                    f"{key} sur les pages {first_page[key]} et {page}",
                                    f"doublon : {key} est renvoyé deux fois (pages {first_page[key]} et {page})"))
            break
        first_page[key] = page
    if query.count is not None:
        for page in walk.pages:
            n = sum(1 for e in page.body.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                    and results.is_match(e))
            if n > query.count:
                findings.append(Finding("search.paging", f"au plus {query.count} correspondance(s) par page (_count)",
                                        f"{n} sur la page {page.number}",
                                        f"_count={query.count} n'est pas respecté : la page {page.number} contient {n} correspondances"))
                break
    totals = {p.body.get("total") for p in walk.pages if "total" in p.body}
    if len(totals) > 1:
        findings.append(Finding("search.total", "le même total sur chaque page", ", ".join(str(t) for t in totals),
                                "le total annoncé change d'une page à l'autre"))
    return findings


def _matches(results: Results, query: Query, judge: Judge, ignore: set[str]) -> list[Finding]:
    findings = []
    for criterion in query.criteria:
        if criterion.raw in ignore or criterion.raw.partition(":")[0] in ignore:
            continue
        wrong, unknown = [], 0
        try:
            for _, key, resource in results.matches:
                verdict = judge.verdict(resource, criterion)
                if verdict is False:
                    wrong.append(key)
                elif verdict is None:
                    unknown += 1
        except Unjudgeable as exc:
            findings.append(Finding("search.matches", f"{criterion.raw} évaluable", str(exc),
                                    f"critère « {criterion.raw} » non jugé : {exc} (à lister dans matches.ignore "
                                    "si c'est voulu)", inconclusive=True))
            continue
        shown = ", ".join(wrong[:SHOWN]) + (" …" if len(wrong) > SHOWN else "")
        criterion_text = f"{criterion.raw}={','.join(criterion.values)}"
        if wrong:
            findings.append(Finding("search.matches", f"chaque correspondance satisfait {criterion_text}",
                                    f"{len(wrong)} ne le satisfont pas : {shown}",
                                    f"{len(wrong)} ressource(s) renvoyée(s) ne satisfont pas le critère « {criterion_text} » "
                                    f"({shown})"))
        elif unknown:
            findings.append(Finding("search.matches", f"chaque correspondance satisfait {criterion_text}",
                                    f"{unknown} non jugeable(s)",
                                    f"{unknown} correspondance(s) non jugées pour « {criterion_text} » (référence non "
                                    "résolue, unité différente, ...)", inconclusive=True))
    return findings


def _counts(results: Results, walk: paging.Walk, params: dict, first: dict) -> list[Finding]:
    findings = []
    distinct = results.distinct()
    found = len(distinct)
    partial = "" if walk.complete else f" ({walk.stopped})"
    wanted_total = params.get("total")
    if wanted_total is not None:
        total = first.get("total")
        if not isinstance(total, int):
            findings.append(Finding("search.total", "total présent", "absent", "le Bundle de résultats n'indique pas son total"))
        else:
            if not isinstance(wanted_total, bool) and total != wanted_total:
                findings.append(Finding("search.total", str(wanted_total), str(total),
                                        f"total = {total}, alors que les données de la cible en donnent {wanted_total}"))
            if walk.complete and not walk.findings and total != found:
                findings.append(Finding("search.total", f"total = {found} (correspondances renvoyées)", str(total),
                                        f"le Bundle annonce total = {total} mais les pages contiennent {found} correspondance(s)"))
            elif total < found:
                findings.append(Finding("search.total", f"total >= {found}", str(total),
                                        f"le Bundle annonce total = {total} mais les pages lues contiennent déjà {found} correspondances"))
    if "max_matches" in params and found > params["max_matches"]:
        findings.append(Finding("search.count", f"au plus {params['max_matches']} correspondance(s)", str(found),
                                f"{found} correspondance(s) renvoyées, au plus {params['max_matches']} attendue(s)"))
    if "min_matches" in params and found < params["min_matches"]:
        findings.append(Finding("search.count", f"au moins {params['min_matches']} correspondance(s)", str(found) + partial,
                                f"{found} correspondance(s) renvoyées, au moins {params['min_matches']} attendue(s){partial}",
                                inconclusive=not walk.complete))
    missing = [ref for ref in params.get("contains", ()) if reference_key(ref) not in distinct]
    if missing:
        findings.append(Finding("search.contains", ", ".join(params["contains"]), f"absente(s) : {', '.join(missing)}{partial}",
                                f"la recherche ne renvoie pas {', '.join(missing)}, qui satisfait(font) pourtant les critères"
                                f"{partial}", inconclusive=not walk.complete))
    return findings


def _includes(results: Results, query: Query, judge: Judge) -> list[Finding]:
    findings = []
    for inc in query.includes:
        if inc.source != results.resource_type and not inc.iterate:
            continue  # FHIR: a non-iterate _include applies to the matches only
        definition = judge.params.get(inc.source, inc.param)
        if definition is None or definition.type != "reference" or not definition.expression:
            findings.append(Finding("search.includes", f"_include={inc.source}:{inc.param} évaluable",
                                    "paramètre inconnu", f"_include {inc.source}:{inc.param} non vérifiable par le banc",
                                    inconclusive=True))
            continue
        sources = [r for _, k, r in results.matches] if not inc.iterate else [
            e["resource"] for _, e in results.entries if e["resource"].get("resourceType") == inc.source]
        absent: list[str] = []
        try:
            targets = [item for resource in sources if resource.get("resourceType") == inc.source
                       for item in judge.values(resource, definition.expression)]
        except Unjudgeable as exc:
            findings.append(Finding("search.includes", f"_include={inc.source}:{inc.param} évaluable", str(exc),
                                    f"_include {inc.source}:{inc.param} non vérifiable par le banc : {exc}", inconclusive=True))
            continue
        for item in targets:
            ref = item.get("reference") if isinstance(item, dict) else None
            key = reference_key(ref) if ref else None
            if key and "/" in key and (inc.target is None or key.startswith(inc.target + "/")) \
                    and key not in results.by_key and key not in absent:
                absent.append(key)
        if absent:
            shown = ", ".join(absent[:SHOWN]) + (" …" if len(absent) > SHOWN else "")
            findings.append(Finding("search.includes", f"ressources incluses par _include={inc.source}:{inc.param}",
                                    f"{len(absent)} absente(s) : {shown}",
                                    f"_include={inc.source}:{inc.param} : {len(absent)} ressource(s) référencée(s) "
                                    f"ne sont pas dans les résultats ({shown})"))
    return findings


class _SortKey:
    """One `_sort` key (`-` for descending, one chained reference allowed: `-organization.x`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.descending = text.startswith("-")
        self.reference, _, self.name = text.lstrip("-").rpartition(".")

    def value(self, resource: dict, judge: Judge) -> tuple[str, Any]:
        """("ok", value) | ("missing", None) | ("unknown", None); Unjudgeable when the type has no order we judge."""
        target: dict | None = resource
        if self.reference:
            link = judge.params.get(resource.get("resourceType", ""), self.reference)
            if link is None or link.type != "reference" or not link.expression:
                raise Unjudgeable(f"clé de tri « {self.text} » : « {self.reference} » n'est pas une référence connue")
            refs = [i.get("reference") for i in judge.values(resource, link.expression) if isinstance(i, dict)]
            if not refs:
                return "missing", None
            target = judge.resolve(reference_key(refs[0])) if refs[0] else None
            if target is None:
                return "unknown", None
        definition = judge.params.get(target.get("resourceType", ""), self.name)
        if definition is None or not definition.expression:
            raise Unjudgeable(f"clé de tri « {self.text} » : paramètre inconnu du banc")
        if definition.type not in ORDERED_TYPES:
            raise Unjudgeable(f"clé de tri « {self.text} » ({definition.type}) : l'ordre dépend de la collation du serveur")
        items = judge.values(target, definition.expression)
        if not items:
            return "missing", None
        values = [self._comparable(definition.type, item) for item in items]
        if any(v is None for v in values):
            return "unknown", None
        return "ok", max(values) if self.descending else min(values)

    def _comparable(self, kind: str, item: Any) -> Any:
        if kind == "date":
            found = sv.date_target(item)
            if found is None or not found.zoned:
                return None  # no time zone: its instant is not known
            return found.high if self.descending else found.low
        raw = item.get("value") if kind == "quantity" and isinstance(item, dict) else item
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
            return None
        try:
            return Decimal(str(raw))
        except ArithmeticError:
            return None


def _sorted(results: Results, sort_values: list[str], judge: Judge) -> list[Finding]:
    """The matches, across every page, come in the order `_sort` asks (resources without a value,
    or whose value cannot be read, are left out: FHIR does not say where they go)."""
    keys = [_SortKey(k.strip()) for text in sort_values for k in text.split(",") if k.strip()]
    if not keys:
        return [Finding("search.sorted", "un paramètre _sort", "absent", "sorted demandé mais la requête n'a pas de _sort",
                        inconclusive=True)]
    judged: list[_SortKey] = []
    why = ""
    for key in keys:
        try:
            for _, _, resource in results.matches[:1]:
                key.value(resource, judge)
        except Unjudgeable as exc:
            why = str(exc)
            break
        judged.append(key)
    if not judged:
        return [Finding("search.sorted", "un ordre vérifiable", why, f"ordre non vérifié : {why}", inconclusive=True)]
    sequence: list[tuple[str, tuple]] = []
    try:
        for _, ref, resource in results.matches:
            values = [key.value(resource, judge) for key in judged]
            if all(state == "ok" for state, _ in values):
                sequence.append((ref, tuple(v for _, v in values)))
    except Unjudgeable as exc:
        return [Finding("search.sorted", "un ordre vérifiable", str(exc), f"ordre non vérifié : {exc}", inconclusive=True)]
    wrong = []
    for (ref_a, a), (ref_b, b) in zip(sequence, sequence[1:]):
        for key, va, vb in zip(judged, a, b):
            if va == vb:
                continue
            if (va < vb) == key.descending:
                wrong.append(f"{ref_a} ({va}) avant {ref_b} ({vb})")
            break
    asked = ",".join(k.text for k in keys)
    if wrong:
        shown = "; ".join(wrong[:SHOWN]) + (" …" if len(wrong) > SHOWN else "")
        return [Finding("search.sorted", f"correspondances dans l'ordre de _sort={asked}", f"{len(wrong)} inversion(s)",
                        f"les correspondances ne sont pas dans l'ordre demandé par _sort={asked} : {shown}")]
    if len(sequence) < 2 and len(results.matches) >= 2:
        return [Finding("search.sorted", "au moins deux valeurs de tri lisibles", str(len(sequence)),
                        f"ordre non vérifié : trop peu de correspondances portent une valeur lisible pour _sort={asked}",
                        inconclusive=True)]
    return []


def _modes(results: Results) -> list[Finding]:
    wrong = []
    for page, entry in results.entries:
        mode = (entry.get("search") or {}).get("mode")
        rtype = entry["resource"].get("resourceType")
        if mode is None:
            wrong.append(f"{rtype} sans search.mode (page {page})")
        elif mode == "match" and rtype != results.resource_type:
            wrong.append(f"{rtype}/{entry['resource'].get('id')} marqué « match » dans une recherche de "
                         f"{results.resource_type} (page {page})")
        elif mode == "outcome" and rtype != "OperationOutcome":
            wrong.append(f"{rtype} marqué « outcome » (page {page})")
    if not wrong:
        return []
    return [Finding("search.modes", "search.mode match pour les correspondances, include pour les inclusions",
                    f"{len(wrong)} entrée(s) mal marquée(s)", f"entrées mal marquées : {'; '.join(wrong[:SHOWN])}")]


@register("search")
def check_search(ctx: StepContext, params: Any) -> list[Finding]:
    """Search semantics judged by the harness across every page: paging coherence, then the options.

    Options: matches (every match satisfies the query, by the SearchParameter expressions;
    `ignore` lists criteria the harness may not judge), total (true, or the count the target's
    data gives), min_matches / max_matches, contains (Type/id that must be found), includes
    (every _include target present), modes (search.mode coherent), sorted (the matches of every
    page in the order of `_sort`, for date, number and quantity keys), budget (pages, seconds,
    bytes of the walk). The server's own counts are never trusted.
    """
    body, findings = ctx.body_or_finding("search")
    if body is None:
        return findings
    if body["resourceType"] != "Bundle":
        return [Finding("search", "un Bundle searchset", body["resourceType"],
                        f"la recherche renvoie un {body['resourceType']} au lieu d'un Bundle")]
    query = parse_query(_searched_type(ctx.path), ctx.query)
    walk = paging.walk(body, ctx.exchange.request.url, ctx.services, params.get("budget", {}), ctx.more_exchanges)
    results = Results(query.resource_type, walk.pages)
    findings = walk.findings + _coherence(results, walk, query)
    judge = Judge(ctx.services.search_parameters(), _resolver(ctx, results))
    if params.get("matches"):
        ignore = set(params["matches"].get("ignore", ())) if isinstance(params["matches"], dict) else set()
        findings += _matches(results, query, judge, ignore)
    findings += _counts(results, walk, params, body)
    if params.get("includes"):
        findings += _includes(results, query, judge)
    if params.get("modes"):
        findings += _modes(results)
    if params.get("sorted"):
        findings += _sorted(results, [v for k, v in ctx.query if k == "_sort"], judge)
    return findings


def _resolver(ctx: StepContext, results: Results):
    """`Type/id` -> the resource: from the result pages, else read from the target (bounded)."""
    fetched: dict[str, dict | None] = {}

    def resolve(key: str) -> dict | None:
        if key in results.by_key:
            return results.by_key[key]
        if key not in fetched:
            if len(fetched) >= MAX_RESOLVED:
                return None
            fetched[key] = None
            try:
                answer = ctx.services.fetch(f"{ctx.base_url.rstrip('/')}/{key}")
            except RefusedUrl:
                return None
            ctx.more_exchanges.extend(answer.exchanges)
            fetched[key] = _resource(answer.response)
        return fetched[key]

    return resolve


def _resource(response: Response | None) -> dict | None:
    if response is None or response.status != 200:
        return None
    try:
        return response.resource()
    except NotJson:  # an unreadable resource only leaves the criterion unjudged
        return None
