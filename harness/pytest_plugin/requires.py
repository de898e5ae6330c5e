"""Is a scenario's `requires` met by the target? If not, the French reason it is skipped and
what would make it run.

A target that does not declare an interaction is not failed for it: the IG lets servers
implement part of the API, and PLATINES scores what is claimed. Missing sample data (facts)
is the target profile's gap, not the server's.
"""
from __future__ import annotations

from collections.abc import Callable

from harness.scenario.model import Requires
from harness.scenario.templates import MissingValue, lookup


def _server_rest(cs: dict) -> list[dict]:
    return [r for r in cs.get("rest") or () if isinstance(r, dict) and r.get("mode", "server") == "server"]


def _declared(cs: dict) -> tuple[set[str], set[str], set[str], set[str]]:
    resources, interactions, params, operations = set(), set(), set(), set()
    for rest in _server_rest(cs):
        common = {p.get("name") for p in rest.get("searchParam") or () if isinstance(p, dict)}
        operations |= {o.get("name") for o in rest.get("operation") or () if isinstance(o, dict)}
        for res in rest.get("resource") or ():
            if not isinstance(res, dict):
                continue
            rtype = res.get("type", "")
            resources.add(rtype)
            interactions |= {f"{rtype}:{i.get('code')}" for i in res.get("interaction") or () if isinstance(i, dict)}
            params |= {f"{rtype}:{p.get('name')}" for p in res.get("searchParam") or () if isinstance(p, dict)}
            params |= {f"{rtype}:{name}" for name in common}
            operations |= {o.get("name") for o in res.get("operation") or () if isinstance(o, dict)}
    return resources, interactions, params, operations


#: What to write in the target profile for each credential a step may need (French).
CREDENTIAL_HELP = {
    "auth_profile0": "auth_profile0 (identifiants OAuth2 d'un client de profil d'accès 0)",
    "auth_read_only": "auth_read_only (identifiants OAuth2 d'un client sans droit d'écriture)",
    "expired_token": "expired_token_env (un jeton d'accès émis par la cible et expiré)",
    "client_cert": "tls.client_cert et tls.client_key (le certificat client du TLS mutuel : la cible doit être en mTLS)",
}


def unmet(requires: Requires, facts: dict, capability: Callable[[], tuple[dict | None, str | None]],
          has_credential: Callable[[str], bool] | None = None) -> str | None:
    """None when everything required is there; else the reason to skip (French)."""
    reasons = []
    missing_credentials = [c for c in requires.credentials if has_credential is None or not has_credential(c)]
    if missing_credentials:
        reasons.append("identifiants absents du profil de la cible : "
                       + ", ".join(CREDENTIAL_HELP.get(c, c) for c in missing_credentials)
                       + " (à renseigner dans le fichier --target-config)")
    missing_facts = []
    for name in requires.facts:
        try:
            lookup(name, facts)
        except MissingValue:
            missing_facts.append(name)
    if missing_facts:
        reasons.append(f"données d'exemple absentes du profil de la cible : {', '.join('facts.' + n for n in missing_facts)} "
                       "(à renseigner sous « facts: » dans le fichier --target-config)")
    wants = {"ressource": requires.resources, "interaction": requires.interactions,
             "paramètre de recherche": requires.search_params, "opération": requires.operations}
    if any(wants.values()):
        cs, error = capability()
        if cs is None:
            reasons.append(f"prérequis non vérifiables : {error}")
        else:
            declared = dict(zip(wants, _declared(cs)))
            for label, wanted in wants.items():
                absent = [w for w in wanted if w not in declared[label]]
                if absent:
                    reasons.append(f"{label}(s) non déclaré(e)s dans le CapabilityStatement de la cible : "
                                   f"{', '.join(absent)} (le scénario s'exécute quand la cible les déclare)")
    return "; ".join(reasons) or None
