"""What the synthetic establishments are made of: kinds of legal entities and the offers
(operational services) each kind runs, expressed with real NOS codes.

Why a curated table rather than codes drawn at random from each value set: a search scenario
must find plausible combinations (a paediatric psychiatry unit has a psychiatric sector and an
age range below 18, an EHPAD has places and prices, a home-care service has an intervention
zone), and vendors read the dataset to learn what a ROR offer looks like. Every code here is
checked against its vendored value set when used (`nomenclature.coding`). Names are invented;
several share prefixes and carry accents on purpose (string-search scenarios).
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Offer:
    """One kind of operational offer (HealthcareService) and the place it runs in."""

    label: str  # stem of the service name
    category: str  # J238 TypeOffre
    field: str  # J20 ChampActivite
    activities: tuple[str, ...]  # J17 ActiviteOperationnelle, one chosen per service
    care_modes: tuple[str, ...]  # J19 ModePriseEnCharge, one chosen per service
    ages: tuple[int, int]  # accepted age range, years
    professions: tuple[tuple[str, str], ...]  # (J229 profession, J210 ordinal specialty or "")
    capacity: str = ""  # J187 NatureCapacite of the place ("01" beds, "02" places, "" none)
    reception: tuple[str, ...] = ()  # J226 ModaliteAccueil
    family: str = ""  # J51 FamilleActiviteOperationnelle
    publics: tuple[str, ...] = ()  # J29 PublicPrisEnCharge
    psychiatric_sector: str = ""  # "G" adults, "I" children (intersectoral), "" none
    home_care: bool = False  # serves an intervention zone of communes
    acts: tuple[str, ...] = ()  # J16 ActeSpecifique
    specialisations: tuple[str, ...] = ()  # J35 SpecialisationDePriseEnCharge
    competences: tuple[str, ...] = ()  # J33 CompetenceSpecifique
    expertise: tuple[str, ...] = ()  # J227 NiveauExpertise
    equipment: tuple[tuple[str, str, int], ...] = ()  # (J18 equipment, J228 feature, limit kg or cm)
    residential: tuple[str, ...] = ()  # J32 TypeHabitation of the place
    management: tuple[str, ...] = ()  # J26 ModeGestion
    resources: tuple[str, ...] = ()  # J186 ProfessionRessource


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of legal entity (EJ) with its geographic entities (EG) and offers."""

    key: str
    weight: int  # relative frequency at medium / national scale
    legal: tuple[tuple[str, str], ...]  # (J199 StatutJuridique, EJ name template) pairs
    legal_group: str  # J200 SousEnsembleAgregatStatutJuridique
    eg_categories: tuple[str, ...]  # J55 CategorieEG
    espic: str  # J202 ESPIC ("" none)
    eg_names: tuple[str, ...]  # {city} {dept} {saint} {place} placeholders
    unit_names: tuple[str, ...]  # OI names, {label} placeholder
    egs: tuple[int, int]  # geographic entities per legal entity
    units: tuple[int, int]  # internal organisations per EG (0: services provided by the EG)
    services: tuple[int, int]  # services per unit (or per EG without units)
    offers: tuple[Offer, ...]
    priced: bool = False  # EG publishes prices (ror-organization-price)


SAINTS = ("Saint-Étienne", "Sainte-Thérèse", "Saint-Éloi", "Sainte-Anne", "Saint-Joseph",
          "Notre-Dame", "Saint-Benoît", "Sainte-Hélène", "Saint-André", "Sainte-Cécile")
PLACES = ("Les Tilleuls", "Les Glycines", "Le Clos Fleuri", "La Bruyère", "Les Hêtres",
          "Le Château", "Les Érables", "La Roseraie", "Les Cèdres", "L'Orée du Bois")
STREETS = (("RUE", "rue", "de la République"), ("AV", "avenue", "Victor Hugo"),
           ("BD", "boulevard", "Jean Jaurès"), ("RUE", "rue", "Pasteur"),
           ("AV", "avenue", "du Général de Gaulle"), ("RUE", "rue", "des Écoles"),
           ("PL", "place", "de l'Église"), ("CHE", "chemin", "du Moulin"), ("ALL", "allée", "des Tilleuls"),
           ("RUE", "rue", "Émile Zola"), ("QU", "quai", "de la Loire"), ("RTE", "route", "de la Forêt"),
           ("IMP", "impasse", "des Près"), ("SQ", "square", "Saint-Éloi"), ("BD", "boulevard", "de l'Hôpital"))
FAMILY_NAMES = ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Lemaître", "Fournier",
                "Rousseau", "Bonnet", "Mercier", "Fontaine", "Chevalier", "Gauthier", "Perrin", "Robin",
                "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Garnier", "Faure", "André",
                "Boyer", "Leroy", "Renaud", "Guérin", "Muller", "Bérard", "Lacroix", "Noël", "Barbier",
                "Brunet", "Benoît", "Pélissier", "Caron", "Aubert", "Le Goff", "Ménard", "Thébault")
GIVEN_FEMALE = ("Hélène", "Élodie", "Céline", "Zoé", "Léa", "Chloé", "Anaïs", "Maëlle", "Amélie",
                "Marie", "Camille", "Inès", "Noémie", "Françoise", "Gaëlle", "Agnès")
GIVEN_MALE = ("Jérôme", "François", "Stéphane", "Frédéric", "Loïc", "Gaël", "Joël", "Benoît",
              "Théo", "Raphaël", "Clément", "Hugo", "Étienne", "Jean", "Noé", "Mathéo")

_MED = ("10", "")
_NURSE = ("60", "")

OFFERS: dict[str, Offer] = {o.label: o for o in (
    Offer("Gynécologie-obstétrique", "157", "01", ("022", "053", "100"), ("28", "29", "32"), (15, 150),
          (("10", "SM20"), ("50", "")), "01", ("03", "04"), expertise=("01", "02", "03", "04"),
          acts=("0320",)),
    Offer("Cardiologie", "149", "01", ("013", "014", "132"), ("28", "29", "32"), (18, 150),
          (("10", "SM04"), _NURSE), "01", ("03", "06"), acts=("0001",), equipment=(("017", "", 0),)),
    Offer("Soins intensifs neuro-vasculaires", "263", "01", ("356",), ("28",), (18, 150),
          (("10", "SM32"), _NURSE), "01", ("02",)),
    Offer("Surveillance continue pédiatrique", "254", "01", ("391",), ("28",), (0, 17),
          (("10", "SM40"), ("37", "")), "01"),
    Offer("Chirurgie orthopédique", "150", "01", ("025", "145"), ("28", "09", "32"), (15, 150),
          (("10", "SM08"), _NURSE), "01", ("03",), equipment=(("088", "001", 250), ("089", "001", 350))),
    Offer("Chirurgie de l'obésité", "153", "01", ("017", "033"), ("28", "09"), (18, 150),
          (("10", "SM14"), ("95", "")), "01", ("03",), acts=("0529",),
          equipment=(("072", "001", 300), ("052", "002", 70))),
    Offer("Urgences", "20", "01", ("157", "249"), ("33",), (0, 150), (("10", "SM59"), _NURSE), "01",
          ("06", "02")),
    Offer("Gériatrie", "156", "01", ("050",), ("28", "29"), (75, 150), (("10", "SM18"), ("35", "")), "01",
          ("03",), publics=("01",)),
    Offer("Ophtalmologie", "172", "01", ("103",), ("09", "32"), (0, 150), (("10", "SM38"), ("92", "")),
          "02", ("03", "04")),
    Offer("Pédopsychiatrie", "282", "03", ("227", "228"), ("28", "29"), (0, 17), (("10", "SM43"), ("69", "")),
          "01", ("03",), psychiatric_sector="I", specialisations=("02", "03"), competences=("05",),
          acts=("0626",)),
    Offer("Psychiatrie adulte", "174", "03", ("229",), ("28", "29", "30"), (18, 150),
          (("10", "SM42"), ("69", "")), "01", ("03",), psychiatric_sector="G", specialisations=("06",)),
    Offer("Centre médico-psychologique", "10", "03", ("229",), ("32", "20"), (18, 150),
          (("10", "SM42"), ("69", "")), "", ("03", "04", "06"), psychiatric_sector="G", competences=("05",),
          acts=("0626",)),
    Offer("Centre médico-psychologique enfants", "281", "03", ("227",), ("32",), (0, 17),
          (("10", "SM43"), ("96", "")), "", ("03",), psychiatric_sector="I", specialisations=("02",)),
    Offer("Soins médicaux et de réadaptation locomoteur", "102", "02", ("233",), ("28", "29"), (18, 150),
          (("10", "SM29"), ("70", "")), "01", ("03",), expertise=("14",), equipment=(("040", "", 0),)),
    Offer("Consultations de médecine générale", "69", "01", ("437", "481", "005"), ("32",), (0, 150),
          (("10", "SM54"),), "", ("03", "04")),
    Offer("Hébergement permanent", "21", "04", ("293", "322"), ("46",), (60, 150), (_NURSE, ("35", "")),
          "02", family="04", publics=("01",), residential=("02", "01")),
    Offer("Unité de vie protégée", "24", "04", ("293", "306"), ("46",), (60, 150), (_NURSE, ("35", "")),
          "02", family="04", publics=("01",), residential=("02",)),
    Offer("Accueil de jour", "25", "04", ("306", "312"), ("47",), (60, 150), (("35", ""),), "02",
          ("01",), publics=("01",)),
    Offer("Institut médico-éducatif", "48", "04", ("300", "293"), ("46", "47"), (3, 20), (("96", ""),),
          "02", ("01",), family="022", publics=("02",), competences=("01", "03")),
    Offer("Institut thérapeutique éducatif et pédagogique", "50", "04", ("300",), ("47", "46"), (6, 18),
          (("96", ""), _NURSE), "02", ("01",), family="022", publics=("02",)),
    Offer("Maison d'accueil spécialisée", "40", "04", ("293", "287"), ("46",), (20, 150), (_NURSE, ("35", "")),
          "02", family="011", publics=("02", "05"), residential=("02",)),
    Offer("Soins infirmiers à domicile", "28", "04", ("287", "288"), ("49",), (60, 150), (_NURSE,), "",
          publics=("01", "02"), home_care=True),
    Offer("Aide à domicile", "30", "04", ("293", "299"), ("49",), (18, 150), (("35", ""),), "",
          publics=("01", "02"), home_care=True, management=("01", "02"), resources=("350",)),
    Offer("Maison de santé pluriprofessionnelle", "99", "05", ("437",), ("32",), (0, 150),
          (("10", "SM54"), _NURSE, ("70", "")), "", ("03", "05"), acts=("0628",)),
    Offer("Cabinet infirmier", "225", "05", ("287",), ("32", "49"), (0, 150), (_NURSE,), "", ("05",)),
)}


def _offers(*labels: str) -> tuple[Offer, ...]:
    return tuple(OFFERS[label] for label in labels)


KINDS: tuple[Kind, ...] = (
    Kind("hospital", 12, (("13", "Centre Hospitalier de {city}"), ("14", "Centre Hospitalier Intercommunal de {city}"),
                          ("15", "Centre Hospitalier Régional de {city}")), "1200", ("355", "101"), "1",
         ("Hôpital {saint}", "Hôpital de {city}", "Hôpital {saint} de {city}"),
         ("UF {label}", "Service de {label}", "Pôle {label}"),
         (1, 3), (2, 4), (1, 2),
         _offers("Gynécologie-obstétrique", "Cardiologie", "Soins intensifs neuro-vasculaires",
                 "Surveillance continue pédiatrique", "Chirurgie orthopédique", "Urgences", "Gériatrie",
                 "Pédopsychiatrie", "Psychiatrie adulte", "Soins médicaux et de réadaptation locomoteur",
                 "Consultations de médecine générale", "Chirurgie de l'obésité")),
    Kind("clinic", 10, (("95", "Groupe {saint}"), ("73", "Société Clinique de {city}")), "2200",
         ("365", "128", "129"), "0",
         ("Clinique {saint}", "Clinique de l'Été", "Clinique des Cèdres", "Clinique du Parc",
          "Polyclinique de {city}", "Clinique {saint} de {city}"),
         ("Unité de {label}", "Service de {label}"),
         (1, 2), (1, 3), (1, 2),
         _offers("Chirurgie orthopédique", "Chirurgie de l'obésité", "Cardiologie", "Gynécologie-obstétrique",
                 "Ophtalmologie", "Soins médicaux et de réadaptation locomoteur")),
    Kind("nursing-home", 16, (("60", "Association {place}"), ("63", "Fondation {saint}")), "2100", ("500",), "",
         ("EHPAD {place}", "Résidence {place}", "EHPAD {saint}"),
         ("Unité {label}",),
         (1, 2), (0, 1), (1, 3),
         _offers("Hébergement permanent", "Unité de vie protégée", "Accueil de jour"), priced=True),
    Kind("disability", 8, (("60", "Association {place}"), ("61", "Association Départementale des Amis de {dept}")),
         "2100", ("183", "186", "255"), "",
         ("Institut {saint}", "Établissement {place}", "Maison d'accueil {place}"),
         ("Section {label}",),
         (1, 2), (0, 1), (1, 2),
         _offers("Institut médico-éducatif", "Institut thérapeutique éducatif et pédagogique",
                 "Maison d'accueil spécialisée"), priced=True),
    Kind("mental-health", 4, (("11", "Établissement Public de Santé Mentale de {dept}"),
                              ("14", "Centre Hospitalier Spécialisé de {city}")), "1200", ("292", "156"), "1",
         ("Centre Médico-Psychologique de {city}", "Hôpital {saint}", "Centre Hospitalier Spécialisé {saint}"),
         ("Secteur {label}",),
         (1, 3), (1, 2), (1, 2),
         _offers("Psychiatrie adulte", "Centre médico-psychologique", "Centre médico-psychologique enfants",
                 "Pédopsychiatrie")),
    Kind("home-care", 10, (("60", "Association d'Aide à Domicile de {city}"), ("17", "CCAS de {city}")), "2100",
         ("354", "460"), "",
         ("Service de Soins à Domicile de {city}", "Service Autonomie à Domicile {place}"),
         ("Antenne {label}",),
         (1, 1), (0, 0), (1, 2),
         _offers("Soins infirmiers à domicile", "Aide à domicile")),
    Kind("primary-care", 20, (("80", "SISA Santé {city}"), ("85", "Société d'exercice libéral {saint}")), "2200",
         ("603",), "",
         ("Maison de Santé Pluriprofessionnelle de {city}", "Cabinet médical {saint}",
          "Maison de Santé {place}"),
         ("Équipe {label}",),
         (1, 1), (0, 0), (1, 2),
         _offers("Maison de santé pluriprofessionnelle", "Cabinet infirmier")),
)
