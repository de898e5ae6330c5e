"""The benchmark and agreement corpus: valid ROR resources, multiplied, plus named mutations.

Why generated: the IG ships four examples (one of them without the mandatory careMode, one whose
profile needs the absent SDC package), too few for a throughput figure and too uniform for a fair
one (a validator caching results by content hash would see the same four resources again and
again). So the seeds are the valid IG examples plus the hand-written ones in
`fixtures/examples/harness/` (Organization EJ / EG / OI, Practitioner, PractitionerRole,
HealthcareService), and each copy gets its own id, names, dates, commune and identifiers (FINESS,
SIREN/SIRET, RPPS with valid Luhn keys) and codes drawn from the value sets its slices bind.
Deterministic: the same seed gives the same bytes.

Usage (from the repo root):
    .venv/bin/python -m benchmarks.corpus [--count 10000] [--seed 20250314] [--out build/corpus]
writes `valid.ndjson` (the multiplied corpus) and `mutations.ndjson` (benchmarks/mutations.py),
one {id, profile, resource} record per line.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from harness.dataset import identifiers as french_ids
from harness.fhir.packages import FIXTURES

EXAMPLES = FIXTURES / "examples"
#: The valid seeds, by file: the IG examples ror-harness finds valid, then our own.
SEED_FILES = (
    "ror-0.7.0/Location-ror-location-exemple.json",
    "ror-0.7.0/Task-ror-task-exemple.json",
    "harness/Organization-ror-harness-ej.json",
    "harness/Organization-ror-harness-eg.json",
    "harness/Organization-ror-harness-oi.json",
    "harness/Practitioner-ror-harness-practitioner.json",
    "harness/PractitionerRole-ror-harness-practitionerrole.json",
    "harness/HealthcareService-ror-harness-healthcareservice.json",
)
#: Every IG example, valid or not: the agreement table shows each one as it is.
IG_EXAMPLE_FILES = tuple(sorted(p.relative_to(EXAMPLES).as_posix() for p in (EXAMPLES / "ror-0.7.0").glob("*.json")))
NOS = "https://mos.esante.gouv.fr/NOS/"
ROR_EXT = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/"

FIRST_NAMES = ("Camille", "Louise", "Hugo", "Léa", "Nathan", "Chloé", "Lucas", "Manon", "Jules", "Inès",
               "Gabriel", "Zoé", "Arthur", "Jeanne", "Raphaël", "Élodie", "Théo", "Anaïs", "Loïc", "Maëlle")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
              "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
              "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert")
STREETS = (("RUE", "rue", "de la République"), ("AV", "avenue", "Jean Jaurès"), ("BD", "boulevard", "Pasteur"),
           ("RUE", "rue", "Victor Hugo"), ("PL", "place", "de la Mairie"), ("CHE", "chemin", "des Vignes"),
           ("ALL", "allée", "des Tilleuls"), ("QU", "quai", "Louis Blériot"), ("IMP", "impasse", "des Lilas"), ("CRS", "cours", "Gambetta"), ("RTE", "route", "de Lyon"))
UNIT_WORDS = ("Médecine polyvalente", "Cardiologie", "Pédiatrie", "Gériatrie", "Soins palliatifs",
              "Chirurgie viscérale", "Maternité", "Rééducation", "Addictologie", "Psychiatrie adulte")


def load_json(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def record(rid: str, resource: dict) -> dict:
    """One corpus line: the profile is the one the resource claims (both validators get it)."""
    profiles = (resource.get("meta") or {}).get("profile") or [None]
    return {"id": rid, "profile": profiles[0], "resource": resource}


def seeds() -> list[dict]:
    return [load_json(EXAMPLES / name) for name in SEED_FILES]


def ig_examples() -> list[tuple[str, dict]]:
    return [(name, load_json(EXAMPLES / name)) for name in IG_EXAMPLE_FILES]


class Codes:
    """Concepts of the vendored NOS value sets, by JDV number (J19, J199, ...).

    A few NOS files name no system in their include (J241, J242): those concepts carry None and the
    caller keeps the system of the seed (fixtures/nos/PROVENANCE.md).
    """

    def __init__(self, nos_dir: Path = FIXTURES / "nos") -> None:
        self._dir = nos_dir
        self._cache: dict[str, list[dict]] = {}

    def __call__(self, jdv: str) -> list[dict]:
        if jdv not in self._cache:
            (path,) = self._dir.glob(f"ValueSet-JDV-{jdv}-*.json.gz")
            vs = orjson.loads(gzip.decompress(path.read_bytes()))
            self._cache[jdv] = [{"system": inc.get("system"), "code": c["code"], "display": c.get("display", c["code"])}
                                for inc in vs["compose"]["include"] for c in inc.get("concept", ())]
        return self._cache[jdv]


def communes(region_codes: set[str]) -> list[dict]:
    """Metropolitan communes (2-digit departments) whose region is in the RegionOM value set."""
    data = orjson.loads(gzip.decompress((FIXTURES / "geo" / "communes.json.gz").read_bytes()))
    return [c for c in data if c["departement"].isdigit() and len(c["departement"]) == 2
            and c["region"] in region_codes and c.get("codesPostaux")]


class Variator:
    """Makes the n-th copy of a seed: same structure, other ids, names, dates, places and codes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.codes = Codes()
        self.regions = {c["code"]: c for c in self.codes("J237")}
        self.communes = communes(set(self.regions))
        self._by_type: dict[str, Callable[[dict, int, dict], None]] = {
            "Organization": self._organization, "Practitioner": self._practitioner,
            "PractitionerRole": self._practitioner_role, "HealthcareService": self._healthcare_service,
            "Location": self._location, "Task": self._task,
        }

    # -- helpers ---------------------------------------------------------------------------
    def coding(self, jdv: str, system: str | None = None) -> dict:
        """A random concept of the value set; `system` stands in where the NOS file names none."""
        concept = dict(self.rng.choice(self.codes(jdv)))
        concept["system"] = concept["system"] or system
        return concept

    def instant(self, year_from: int = 2023, year_to: int = 2025) -> str:
        r = self.rng
        return (f"{r.randint(year_from, year_to)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
                f"T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.000+01:00")

    def date(self, year_from: int, year_to: int) -> str:
        r = self.rng
        return f"{r.randint(year_from, year_to)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def phone(self) -> str:
        r = self.rng
        return f"0{r.randint(1, 5)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"

    @staticmethod
    def _ext(resource: dict, url: str) -> dict | None:
        return next((e for e in resource.get("extension") or () if e.get("url") == url), None)

    @staticmethod
    def _set_slice(items: list[dict], system: str, coding: dict) -> None:
        """Replace the coding of the item that uses `system` (a slice picked by its code system)."""
        for item in items:
            codings = item.get("coding") or ()
            if codings and codings[0].get("system") == system:
                item["coding"] = [coding]

    # -- the copy --------------------------------------------------------------------------
    def vary(self, seed: dict, n: int) -> dict:
        res = copy.deepcopy(seed)
        res["id"] = f"{seed['id']}-{n:05d}"
        commune = self.rng.choice(self.communes)
        meta = res.setdefault("meta", {})
        meta["lastUpdated"] = self.instant()
        if meta.get("tag"):
            region = self.regions[commune["region"]]
            meta["tag"] = [{"system": region["system"], "code": region["code"], "display": region["display"]}]
        created = self._ext(res, ROR_EXT + "ror-meta-creation-date")
        if created is not None:
            created["valueDateTime"] = self.instant(2016, 2022)
        self._by_type[res["resourceType"]](res, n, commune)
        return res

    def _address(self, address: dict, commune: dict) -> None:
        r = self.rng
        type_code, word, base = r.choice(STREETS)
        number = str(r.randint(1, 250))
        address["line"] = [f"{number} {word} {base}"]
        if address.get("_line"):
            address["_line"] = [{"extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-houseNumber", "valueString": number},
                {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetNameType", "valueString": type_code},
                {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-streetNameBase", "valueString": base},
            ]}]
        address["city"] = commune["nom"]
        address["postalCode"] = r.choice(commune["codesPostaux"])
        for ext in address.get("extension") or ():
            if ext.get("url", "").endswith("FrAddressInseeCode"):
                ext["valueCoding"] = dict(ext["valueCoding"], code=commune["code"], display=commune["nom"])

    def _organization(self, res: dict, n: int, commune: dict) -> None:
        r = self.rng
        dept = commune["departement"]
        finess = french_ids.finess(dept, r.randint(0, 999_999))
        siren = french_ids.siren(r.randint(10_000_000, 99_999_999))
        for ident in res.get("identifier") or ():
            system = ident.get("system")
            if system == "https://finess.esante.gouv.fr":
                ident["value"] = finess
            elif system == "urn:oid:1.2.250.1.71.4.2.2":
                ident["value"] = "1" + finess
            elif system == "https://sirene.fr":
                ident["value"] = siren if len(ident["value"]) == 9 else french_ids.siret(siren, r.randint(1, 999))
            elif system == "https://oi.esante.gouv.fr":
                ident["value"] = f"1{finess}-UF{r.randint(1000, 9999)}"
        types = res.get("type") or []
        self._set_slice(types, NOS + "TRE_R72-FinessStatutJuridique/FHIR/TRE-R72-FinessStatutJuridique", self.coding("J199"))
        self._set_slice(types, NOS + "TRE_R69-FinessAgregatStatutJuridiqueNiv2/FHIR/TRE-R69-FinessAgregatStatutJuridiqueNiv2",
                        self.coding("J200"))
        self._set_slice(types, NOS + "TRE_R207-TypeOrganisationInterne/FHIR/TRE-R207-TypeOrganisationInterne", self.coding("J203"))
        self._set_slice(types, NOS + "TRE_R73-ESPIC/FHIR/TRE-R73-ESPIC", self.coding("J202"))
        kind = r.choice(("CENTRE HOSPITALIER", "CLINIQUE", "EHPAD", "CENTRE DE SANTE", "MAISON DE SANTE"))
        if any(i.get("system") == "https://oi.esante.gouv.fr" for i in res.get("identifier") or ()):
            res["name"] = f"UF {r.randint(1000, 9999)} {r.choice(UNIT_WORDS).upper()}"
        else:
            res["name"] = f"{kind} {commune['nom'].upper()} {n}"
        for address in res.get("address") or ():
            self._address(address, commune)
        for telecom in res.get("telecom") or ():
            if telecom.get("system") == "phone":
                telecom["value"] = self.phone()
        for contact in res.get("contact") or ():
            first, last = self.person()
            contact["name"] = {"family": last, "given": [first]}
            contact["extension"][0]["valueCodeableConcept"] = {"coding": [self.coding("J220")]}

    def _practitioner(self, res: dict, n: int, commune: dict) -> None:
        first, last = self.person()
        female = first in ("Louise", "Léa", "Chloé", "Manon", "Inès", "Zoé", "Jeanne", "Élodie", "Anaïs", "Maëlle", "Camille")
        res["name"] = [{"use": "usual", "family": last, "given": [first], "prefix": ["MME" if female else "M"]}]
        res["gender"] = "female" if female else "male"
        res["identifier"][0]["value"] = "8" + french_ids.rpps(self.rng.randint(0, 99_999_999))
        res["telecom"][0]["value"] = f"{first.lower()}.{last.lower()}.{n}@sante.example.fr"

    def _practitioner_role(self, res: dict, n: int, commune: dict) -> None:
        r = self.rng
        first, last = self.person()
        name = self._ext(res, ROR_EXT + "ror-practitionerrole-name")
        if name is not None:
            for part in name["extension"]:
                if part["url"] == "exerciseLastName":
                    part["valueString"] = last.upper()
                elif part["url"] == "exerciseFirstName":
                    part["valueString"] = first
                elif part["url"] == "exerciseTitle":
                    part["valueCodeableConcept"] = {"coding": [self.coding("J208")]}
        mode = self._ext(res, ROR_EXT + "ror-practitionerrole-unit-exercise-mode")
        if mode is not None:
            mode["valueCodeableConcept"] = {"coding": [self.coding("J217")]}
        res["practitioner"] = {"reference": f"Practitioner/ror-harness-practitioner-{r.randint(0, n):05d}"}
        res["code"] = [{"coding": [self.coding("J229")]}]
        self._set_slice(res["specialty"], NOS + "TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale", self.coding("J210"))
        res["telecom"][0]["value"] = self.phone()
        start = r.randint(7, 10)
        res["availableTime"][0]["availableStartTime"] = f"{start:02d}:{r.choice((0, 30)):02d}:00"
        res["availableTime"][0]["availableEndTime"] = f"{start + r.randint(4, 9):02d}:00:00"

    def _healthcare_service(self, res: dict, n: int, commune: dict) -> None:
        r = self.rng
        chars = res["characteristic"]
        self._set_slice(chars, NOS + "TRE_R213-ModePriseEnCharge/FHIR/TRE-R213-ModePriseEnCharge", self.coding("J19"))
        self._set_slice(chars, NOS + "TRE_R338-ModaliteAccueil/FHIR/TRE-R338-ModaliteAccueil", self.coding("J226"))
        self._set_slice(chars, NOS + "TRE_R238-OuvertureAnnuelle/FHIR/TRE-R238-OuvertureAnnuelle", self.coding("J28"))
        activity = self.coding("J17")
        res["specialty"] = [{"coding": [activity]}]
        res["type"] = [{"coding": [self.coding("J20")]}]
        res["name"] = f"{activity['display']} - {r.choice(('HOSPITALISATION COMPLETE', 'CONSULTATION', 'HOPITAL DE JOUR'))}"
        res["identifier"][0]["value"] = f"{res['meta']['tag'][0]['code']}/{r.randint(0, 9_999_999):07d}"
        opening = self.date(2020, 2025)
        for slot in res.get("availableTime") or ():
            for ext in slot.get("extension") or ():
                if ext["url"].endswith("effective-opening-closing-date"):
                    ext["valuePeriod"] = {"start": opening}

    def _location(self, res: dict, n: int, commune: dict) -> None:
        cog = self._ext(res, ROR_EXT + "ror-commune-cog")
        if cog is not None:
            cog["valueCodeableConcept"]["coding"][0].update(code=commune["code"], display=commune["nom"])
        self._address(res["address"], commune)

    def _task(self, res: dict, n: int, commune: dict) -> None:
        r = self.rng
        res["businessStatus"] = {"coding": [self.coding("J244")]}
        res["code"] = {"coding": [self.coding("J241", res["code"]["coding"][0]["system"])]}
        res["reasonCode"] = {"coding": [self.coding("J242", res["reasonCode"]["coding"][0]["system"])]}
        authored = self.date(2023, 2025)
        res["authoredOn"] = authored
        res["lastModified"] = authored
        res["focus"]["identifier"]["value"] = "1" + french_ids.finess(commune["departement"], r.randint(0, 999_999))
        res["description"] = r.choice(("La catégorie d'établissement n'est pas la bonne",
                                       "Le numéro de téléphone du standard est erroné",
                                       "L'adresse du site a changé", "Horaires d'ouverture à mettre à jour"))


def valid_corpus(count: int = 10_000, seed: int = 20250314) -> Iterator[dict]:
    """`count` valid records, the seeds in turn, each copy varied (deterministic for a seed)."""
    rng = random.Random(seed)
    variator = Variator(rng)
    base = seeds()
    for n in range(count):
        res = variator.vary(base[n % len(base)], n)
        yield record(f"{res['resourceType']}/{res['id']}", res)


def write_ndjson(records: Iterator[dict] | list[dict], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("wb") as out:
        for rec in records:
            out.write(orjson.dumps(rec) + b"\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    from benchmarks.mutations import mutation_records

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20250314)
    parser.add_argument("--out", type=Path, default=Path("build/corpus"))
    args = parser.parse_args(argv)
    n_valid = write_ndjson(valid_corpus(args.count, args.seed), args.out / "valid.ndjson")
    n_mut = write_ndjson(mutation_records(), args.out / "mutations.ndjson")
    print(f"{args.out}/valid.ndjson: {n_valid} records; {args.out}/mutations.ndjson: {n_mut} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
