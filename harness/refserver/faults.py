"""Named faults: deliberate, documented deviations that make the reference server subtly wrong.

Why: a conformance check is only trusted once it has been seen to fail. Each fault is one switch
(`ror-harness serve --fault NAME`, `ServerConfig(faults=...)`) that breaks exactly one rule of
the IG or of FHIR, so that every check of the harness can be pointed at a server that violates
what it checks. The clean server is right; each faulty one is wrong in one named way.

This module only names them; the code that honours a fault sits where the behaviour it breaks
lives, behind `name in config.faults`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    area: str
    description: str  # English, one line: what the server does wrong
    explication: str  # French: the same, for the report read by vendors


_FAULTS = (
    # -- Bundle shape --------------------------------------------------------------------------
    Fault("bundle-type-collection", "bundle",
          "search results come in a Bundle of type 'collection' instead of 'searchset'",
          "le Bundle de résultats est de type « collection » au lieu de « searchset »"),
    Fault("bundle-no-total", "bundle",
          "searchset Bundles carry no 'total'",
          "le Bundle de résultats ne porte pas l'élément « total » (exigé par l'IG, même à 0)"),
    Fault("bundle-no-self-link", "bundle",
          "searchset Bundles have no 'self' link",
          "le Bundle de résultats n'a pas de lien « self »"),
    Fault("entry-no-fullurl", "bundle",
          "Bundle entries have no fullUrl",
          "les entrées du Bundle n'ont pas de fullUrl"),
    Fault("include-as-match", "bundle",
          "included resources are marked search.mode 'match' instead of 'include'",
          "les ressources incluses (_include/_revinclude) sont marquées « match » au lieu de « include »"),
    # -- paging --------------------------------------------------------------------------------
    Fault("paging-duplicates", "paging",
          "every page after the first repeats the last entry of the previous page",
          "chaque page après la première répète la dernière entrée de la page précédente (doublons)"),
    Fault("paging-broken-next", "paging",
          "the 'next' link points to a page the server cannot serve",
          "le lien « next » pointe vers une page que le serveur ne sait pas servir"),
    Fault("paging-wrong-total", "paging",
          "'total' is one more than the number of matches",
          "« total » vaut un de plus que le nombre réel de correspondances"),
    Fault("paging-cyclic-next", "paging",
          "the last page still has a 'next' link, back to the first page: paging never ends",
          "la dernière page a encore un lien « next » qui ramène à la première : la pagination ne finit jamais"),
    Fault("paging-count-ignored", "paging",
          "_count is ignored: pages always have the default size",
          "le paramètre _count est ignoré : les pages ont toujours la taille par défaut"),
    Fault("paging-default-size", "paging",
          "without _count, pages hold 50 matches instead of the IG's 200 (RG_RECH_52)",
          "sans _count, les pages contiennent 50 correspondances au lieu des 200 de l'IG (RG_RECH_52)"),
    Fault("paging-skips", "paging",
          "every next page skips the first match it should hold: matches are lost",
          "chaque page suivante saute la première correspondance qu'elle devrait contenir : des résultats sont perdus"),
    Fault("paging-previous-wrong", "paging",
          "the 'previous' link leads back to the current page instead of the one before",
          "le lien « previous » ramène à la page courante au lieu de la page précédente"),
    Fault("total-counts-includes", "paging",
          "'total' counts the included resources as well as the matches",
          "« total » compte aussi les ressources incluses, pas seulement les correspondances"),
    # -- search parameters ---------------------------------------------------------------------
    Fault("token-param-ignored", "search",
          "the token parameter 'characteristic' is silently ignored",
          "le paramètre de type token « characteristic » est ignoré sans avertissement"),
    Fault("date-off-by-one", "search",
          "date parameters are compared one day later than asked",
          "les critères de date sont appliqués avec un jour de décalage"),
    Fault("string-case-sensitive", "search",
          "string parameters match case-sensitively",
          "la recherche sur les chaînes de caractères tient compte de la casse (FHIR : insensible)"),
    Fault("string-exact-only", "search",
          "string parameters match only whole values, not prefixes",
          "la recherche sur les chaînes ne trouve que les valeurs exactes, pas les débuts de chaîne"),
    Fault("exact-modifier-ignored", "search",
          "the :exact modifier of string parameters is ignored: values match as a case- and accent-insensitive start",
          "le modificateur :exact des chaînes est ignoré : la valeur est comparée comme un début, sans tenir compte "
          "de la casse ni des accents"),
    Fault("number-prefix-inclusive", "search",
          "the gt and lt prefixes of number and quantity parameters include the bound (read as ge and le)",
          "les préfixes gt et lt des critères numériques et des quantités incluent la borne (lus comme ge et le)"),
    Fault("not-modifier-ignored", "search",
          "parameters with the :not modifier are silently ignored",
          "les paramètres avec le modificateur :not sont ignorés sans avertissement"),
    Fault("chain-ignored", "search",
          "chained parameters (e.g. location.address-postalcode) are silently ignored",
          "les paramètres chaînés (ex. location.address-postalcode) sont ignorés sans avertissement"),
    Fault("unknown-param-silent", "search",
          "unknown parameters are neither reported nor refused, even under Prefer: handling=strict",
          "les paramètres inconnus ne sont ni signalés ni refusés, même avec Prefer: handling=strict"),
    Fault("includes-missing", "search",
          "_include and _revinclude are ignored: no included resources",
          "_include et _revinclude sont ignorés : aucune ressource incluse"),
    Fault("include-iterate-ignored", "search",
          "_include:iterate directives are ignored: parents of included resources are missing",
          "les directives _include:iterate sont ignorées : les parents des ressources incluses manquent"),
    Fault("chain-above-ignored", "search",
          "':above' on a chained reference is dropped: the hierarchy above is not searched",
          "« :above » sur une référence chaînée est ignoré : la hiérarchie au-dessus n'est pas parcourue"),
    Fault("no-match-404", "search",
          "a search without match answers 404 instead of 200 with an empty Bundle (total 0)",
          "une recherche sans correspondance répond 404 au lieu de 200 avec un Bundle vide (total 0)"),
    Fault("date-gt-includes-boundary", "search",
          "date prefixes gt and lt include the boundary value (applied as ge and le)",
          "les préfixes de date gt et lt incluent la valeur limite (appliqués comme ge et le)"),
    Fault("date-ge-excludes-boundary", "search",
          "date prefixes ge and le exclude the boundary value (applied as gt and lt)",
          "les préfixes de date ge et le excluent la valeur limite (appliqués comme gt et lt)"),
    Fault("near-distance-missing", "search",
          "near-insee-code results lack the location-distance extension",
          "les résultats de near-insee-code n'ont pas l'extension location-distance"),
    # -- returned data -------------------------------------------------------------------------
    Fault("meta-lastupdated-missing", "data",
          "returned resources have no meta.lastUpdated",
          "les ressources renvoyées n'ont pas de meta.lastUpdated"),
    Fault("unknown-element", "data",
          "returned resources carry an element that FHIR does not define",
          "les ressources renvoyées portent un élément inconnu de FHIR"),
    Fault("code-outside-valueset", "data",
          "the first type code of returned resources is not in its NOS value set",
          "le premier code « type » des ressources renvoyées n'appartient pas à son jeu de valeurs NOS"),
    Fault("partof-dangling", "data",
          "Organization.partOf names an id the server does not serve (an internal id)",
          "Organization.partOf désigne un identifiant que le serveur ne sert pas (identifiant interne)"),
    # -- security ------------------------------------------------------------------------------
    Fault("accept-missing-token", "security",
          "requests without a bearer token are served",
          "les requêtes sans jeton d'accès sont servies"),
    Fault("accept-expired-token", "security",
          "expired bearer tokens are accepted",
          "les jetons d'accès expirés sont acceptés"),
    Fault("ignore-client-cert", "security",
          "the TLS client certificate is neither required nor checked against the token",
          "le certificat client TLS n'est ni exigé ni comparé à celui du jeton (mTLS contourné)"),
    Fault("ignore-ror-headers", "security",
          "the four Ror-* headers are not required",
          "les 4 headers Ror-* ne sont pas exigés"),
    Fault("profile0-sees-sensitive", "security",
          "access profile 0 sees sensitive units",
          "le profil d'accès 0 voit les unités sensibles"),
    Fault("write-scope-unchecked", "security",
          "a token without the write scope can create and change resources",
          "un jeton sans droit d'écriture (scope write) peut créer et modifier des ressources"),
    # -- PATCH ---------------------------------------------------------------------------------
    Fault("patch-replace-creates", "patch",
          "a capacity 'replace' on a missing indicator creates it instead of answering 404",
          "un « replace » capacitaire sur un indicateur absent le crée au lieu de répondre 404"),
    Fault("patch-multiple-first", "patch",
          "a capacity PATCH whose identifier matches several Locations patches the first instead of 412",
          "un PATCH capacitaire dont l'identifiant désigne plusieurs Location modifie la première "
          "au lieu de répondre 412"),
    Fault("capacity-combination-unchecked", "patch",
          "invalid combinations of capacity indicator codes are accepted",
          "les combinaisons de codes d'indicateur capacitaire invalides sont acceptées"),
    # -- versions ------------------------------------------------------------------------------
    Fault("if-match-ignored", "versioning",
          "If-Match is ignored: a stale version overwrites the current one",
          "If-Match est ignoré : une version périmée écrase la version courante"),
    Fault("etag-missing", "versioning",
          "reads and writes return no ETag header",
          "les lectures et écritures ne renvoient pas d'en-tête ETag"),
    # -- HTTP ----------------------------------------------------------------------------------
    Fault("error-not-outcome", "http",
          "errors are answered with a plain-text body instead of an OperationOutcome",
          "les erreurs sont renvoyées en texte brut au lieu d'un OperationOutcome"),
    Fault("wrong-content-type", "http",
          "FHIR responses are labelled application/json instead of application/fhir+json",
          "les réponses FHIR sont étiquetées application/json au lieu de application/fhir+json"),
    Fault("xml-not-406", "http",
          "a request for XML only gets JSON with 200 instead of 406",
          "une demande en XML seul reçoit du JSON avec 200 au lieu de 406"),
    Fault("write-unvalidated", "http",
          "created and changed resources are stored without validation against the ROR profiles",
          "les ressources créées ou modifiées sont enregistrées sans validation contre les profils ROR"),
    Fault("create-200", "http",
          "create answers 200 without a Location header instead of 201 Created",
          "la création répond 200 sans en-tête Location au lieu de 201 Created"),
    Fault("capability-no-search-params", "http",
          "the CapabilityStatement declares no search parameter for the resources",
          "le CapabilityStatement ne déclare aucun paramètre de recherche (searchParam) pour les ressources"),
    Fault("export-no-content-location", "export",
          "$export answers 202 without the Content-Location polling URL",
          "$export répond 202 sans l'URL de suivi Content-Location"),
    Fault("export-associated-missing", "export",
          "includeAssociatedData=_myCompleteExtract is ignored: only the HealthcareService files",
          "includeAssociatedData=_myCompleteExtract est ignoré : seuls les fichiers HealthcareService sont produits"),
    Fault("export-typefilter-ignored", "export",
          "$export ignores _typeFilter: every resource of the type is exported",
          "$export ignore _typeFilter : toutes les ressources du type sont exportées"),
    Fault("export-since-ignored", "export",
          "$export ignores _since: unchanged resources are exported too",
          "$export ignore _since : les ressources non modifiées sont exportées aussi"),
)

#: The faults by name, in the order above (the order `--list-faults` prints).
FAULTS: dict[str, Fault] = {f.name: f for f in _FAULTS}

#: A family of faults, one per search parameter: `ignore-param:specialty` makes the server drop
#: that parameter from every query without a word (the commonest real deviation: a criterion a
#: server does not implement). Each criterion scenario names the one for its parameter.
PARAM_IGNORED = Fault("ignore-param:<code>", "search",
                      "the search parameter <code> is silently ignored (one fault per parameter)",
                      "le paramètre de recherche <code> est ignoré sans avertissement (une anomalie par paramètre)")
PARAM_IGNORED_PREFIX = "ignore-param:"


def ignored_params(faults: Iterable[str]) -> set[str]:
    """The parameter codes the `ignore-param:<code>` faults switch off."""
    return {f.removeprefix(PARAM_IGNORED_PREFIX) for f in faults if f.startswith(PARAM_IGNORED_PREFIX)}


def unknown_faults(names: Iterable[str]) -> set[str]:
    return {n for n in names if n not in FAULTS
            and not (n.startswith(PARAM_IGNORED_PREFIX) and len(n) > len(PARAM_IGNORED_PREFIX))}


def list_lines() -> list[str]:
    """One line per fault: name, area, English description, French explanation."""
    width = max(len(n) for n in FAULTS)
    return [f"{f.name:<{width}}  [{f.area}] {f.description} — {f.explication}"
            for f in (*FAULTS.values(), PARAM_IGNORED)]
