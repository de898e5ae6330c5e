"""The catalogue of validation messages: one stable id, an English and a French template each.

Why a catalogue: the French text is what PLATINES users read, the id is what tests, filters and
the agreement table key on; keeping both in one table stops them drifting apart.
"""
from __future__ import annotations

from harness.fhir.validation.outcome import Issue

#: id -> (FHIR issue-type code, English template, French template)
MESSAGES: dict[str, tuple[str, str, str]] = {
    "json-type": ("structure", "expected {expected}, found {found}",
                  "type JSON attendu : {expected}, trouvé : {found}"),
    "json-array-expected": ("structure", "element repeats: a JSON array is expected",
                            "élément répétable : un tableau JSON est attendu"),
    "json-array-unexpected": ("structure", "element does not repeat: a JSON array is not allowed",
                              "élément non répétable : un tableau JSON n'est pas autorisé"),
    "json-null": ("structure", "null is not a FHIR JSON value", "la valeur null n'existe pas en JSON FHIR"),
    "unknown-element": ("structure", "unknown element '{name}'",
                        "élément inconnu « {name} » (absent de la définition)"),
    "choice-multiple": ("structure", "several types given for the choice element {name}: {found}",
                        "plusieurs types fournis pour l'élément à choix {name} : {found}"),
    "choice-type": ("structure", "type {found} not allowed for {name} (allowed: {allowed})",
                    "type {found} non autorisé pour {name} (autorisés : {allowed})"),
    "empty": ("invariant", "element has no value and no children (ele-1)",
              "élément vide : ni valeur ni sous-élément (ele-1)"),
    "primitive-format": ("value", "value '{value}' is not a valid {type}",
                         "la valeur « {value} » n'est pas un {type} valide"),
    "max-length": ("value", "value is {length} characters long, more than the maximum {max}",
                   "la valeur fait {length} caractères, au-delà du maximum {max}"),
    "cardinality-min": ("required", "minimum cardinality of {element} is {min}, found {count}",
                        "cardinalité minimale de {element} : {min}, trouvé : {count}"),
    "cardinality-max": ("structure", "maximum cardinality of {element} is {max}, found {count}",
                        "cardinalité maximale de {element} : {max}, trouvé : {count}"),
    "fixed-value": ("value", "value must be exactly {expected}, found {found}",
                    "la valeur doit être exactement {expected}, trouvé : {found}"),
    "pattern-value": ("value", "value does not match the pattern {expected}, found {found}",
                      "la valeur ne respecte pas le motif {expected}, trouvé : {found}"),
    "slice-unmatched-closed": ("structure", "item matches no slice of the closed slicing of {element}",
                               "l'élément ne correspond à aucune tranche (slicing fermé) de {element}"),
    "slice-order": ("structure", "items of {element} are not in the order of the slices",
                    "les éléments de {element} ne sont pas dans l'ordre des tranches"),
    "slice-open-at-end": ("structure", "unmatched items of {element} must come after the slices (openAtEnd)",
                          "les éléments hors tranches de {element} doivent venir après les tranches (openAtEnd)"),
    "slicing-undiscriminable": ("not-supported",
                                "slicing of {element}: discriminator {discriminator} has no fixed value in slice {slice}; "
                                "items matched to slices by conformance instead",
                                "découpage de {element} : le discriminant {discriminator} n'a pas de valeur fixée dans la "
                                "tranche {slice} ; affectation des éléments aux tranches par conformité"),
    "extension-unknown": ("structure", "unknown extension {url}: not checked",
                          "extension inconnue {url} : non vérifiée"),
    "modifier-extension-unknown": ("structure", "unknown modifier extension {url}",
                                   "extension modificatrice inconnue {url} (ne peut être ignorée)"),
    "extension-url-missing": ("structure", "extension without url", "extension sans url"),
    "extension-value-and-children": ("invariant", "extension must have either extensions or a value, not both (ext-1)",
                                     "une extension porte soit des sous-extensions soit une valeur, pas les deux (ext-1)"),
    "binding-required": ("code-invalid", "code {code} ({system}) is not in the required value set {valueset}",
                         "le code {code} ({system}) n'appartient pas au jeu de valeurs obligatoire {valueset}"),
    "binding-extensible": ("code-invalid", "code {code} ({system}) is not in the extensible value set {valueset}",
                           "le code {code} ({system}) n'appartient pas au jeu de valeurs extensible {valueset}"),
    "binding-preferred": ("code-invalid", "code {code} ({system}) is not in the preferred value set {valueset}",
                          "le code {code} ({system}) n'appartient pas au jeu de valeurs préféré {valueset}"),
    "binding-no-code": ("code-invalid", "no coding from the required value set {valueset}",
                        "aucun codage issu du jeu de valeurs obligatoire {valueset}"),
    "binding-not-checked": ("not-supported", "binding to {valueset} not checked: {why}",
                            "rattachement au jeu de valeurs {valueset} non vérifié : {why}"),
    "binding-inconclusive": ("exception", "binding to {valueset} inconclusive: {why}",
                             "vérification du jeu de valeurs {valueset} non concluante : {why}"),
    "invariant-failed": ("invariant", "constraint {key} failed: {human}",
                         "contrainte {key} non respectée : {human}"),
    "invariant-not-checked": ("not-supported", "constraint {key} not checked: {why}",
                              "contrainte {key} non vérifiée : {why}"),
    "reference-format": ("value", "reference '{reference}' is not a valid literal reference",
                         "la référence « {reference} » n'est pas une référence littérale valide"),
    "reference-target": ("structure", "reference to {found} not allowed here (allowed: {allowed})",
                         "référence vers {found} non autorisée ici (autorisées : {allowed})"),
    "profile-unknown": ("not-supported", "profile {url} is not known: not checked against it",
                        "profil {url} inconnu : la ressource n'est pas vérifiée selon ce profil"),
    "profile-not-generated": ("not-supported", "profile {url} cannot be used: {why}",
                              "profil {url} inutilisable : {why}"),
    "resource-type-unknown": ("not-supported", "resource type {type} has no definition here: not checked",
                              "type de ressource {type} sans définition disponible : non vérifié"),
    "resource-type-missing": ("structure", "resourceType missing", "resourceType absent"),
    "resource-type-wrong": ("structure", "expected a {expected} resource, found {found}",
                            "ressource {expected} attendue, trouvé : {found}"),
    "type-not-checked": ("not-supported", "type {type} has no definition here: not checked",
                         "type {type} sans définition disponible : non vérifié"),
}


def make_issue(message_id: str, severity: str, expression: str, source: str | None = None, **args: object) -> Issue:
    """Build an Issue from the catalogue; the arguments fill both language templates."""
    code, en, fr = MESSAGES[message_id]
    return Issue(severity=severity, code=code, message_id=message_id, message=en.format(**args),
                 message_fr=fr.format(**args), expression=expression, source=source)
