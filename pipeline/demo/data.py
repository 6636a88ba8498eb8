"""Realistic synthetic RBB submissions for ``rbb demo``.

``generate`` builds one delivery per member organisation and year, with persistent organisation
and cluster effects, mild trends, survey microdata and a small set of planted faults (see
``planted_faults``). ``write_csv_folder`` writes a delivery the way Dutch Excel exports CSV and
``write_delivery`` writes either format to disk.
"""

from __future__ import annotations

import csv
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.ingest.template import frames_as_version
from pipeline.metadata.lineage import is_additive
from pipeline.metadata.registry import Field, Organisation, load_organisations, registry

DEFAULT_YEARS: tuple[int, ...] = tuple(range(2021, 2026))
MISSING_ORG = "LBIO"
#: how an organisation's CSV export writes a cell that does not apply (the phone-only fields of a web row, ...)
PLACEHOLDERS: tuple[str, ...] = ("n.v.t.", "-", "nvt")
#: answers besides a value in every year's delivery: (organisation, product code or "*", field) -> the text written
DEMO_ANSWERS: dict[tuple[str, str, str], str] = {
    ("DJI", "*", "n_aanvragen_digitaal"): "n.v.t.",  # custody: no online applications at all
    ("COA", "OPV", "n_aanvragen_digitaal"): "n.v.t.",
    ("COA", "HUISV", "n_aanvragen_digitaal"): "nvt",
    ("RDW", "APK", "n_aanvragen_digitaal"): "n.v.t.",
    ("CJIB", "STRAFB", "n_aanvragen_totaal"): "n.v.t.",  # a fine is imposed, not applied for
    ("CJIB", "STRAFB", "n_aanvragen_digitaal"): "n.v.t.",
    ("KAD", "METING", "n_mutaties_stp"): "onbekend",  # no longer registered since a system migration
}
_ANSWER_NOTES: dict[str, dict[str, str]] = {
    "KAD": {
        "blad": "producten",
        "veld": "n_mutaties_stp",
        "product_code": "METING",
        "status_waarde": "definitief",
        "toelichting": "Sinds de migratie van het meetsysteem registreren we niet meer welke metingen volautomatisch "
        "zijn verwerkt; het cijfer is daarom onbekend.",
    }
}

SIZE_FTE: dict[str, tuple[float, float]] = {
    "groot": (5000.0, 30000.0),
    "middel": (800.0, 5000.0),
    "klein": (80.0, 800.0),
}
OVERHEAD_FIELDS: tuple[str, ...] = (
    "fte_overhead_management",
    "fte_overhead_po",
    "fte_overhead_fc",
    "fte_overhead_ict",
    "fte_overhead_communicatie",
    "fte_overhead_facilitair",
    "fte_overhead_juridisch",
)
ASPECTS: tuple[str, ...] = ("q_bereikbaarheid", "q_duidelijkheid", "q_snelheid", "q_bejegening", "q_juistheid")
CHANNELS: tuple[str, ...] = ("telefoon", "web", "app", "balie", "post")
FAULT_IDS: tuple[str, ...] = (
    "missing_sheet",
    "parts_exceed_total",
    "percentage_over_100",
    "text_in_number",
    "duplicate_product",
    "yoy_jump",
    "yoy_jump_explained",
    "resubmission",
    "out_of_range",
)
MERGER_FACTOR = 1.45
JUMP_FACTOR = 1.60
MERGER_FIELDS: tuple[str, ...] = ("fte_totaal", "gem_personeelsleden", "verzuimdagen", "apparaatskosten_totaal")

_CLUSTER_BASE: dict[str, dict[str, float]] = {
    "uitkeren": {
        "clients_per_fte": 220,
        "decisions_per_client": 0.6,
        "sat": 7.0,
        "timely": 0.90,
        "objections": 14,
        "digital": 0.78,
    },
    "heffen_innen": {
        "clients_per_fte": 320,
        "decisions_per_client": 0.5,
        "sat": 6.8,
        "timely": 0.91,
        "objections": 18,
        "digital": 0.80,
    },
    "registreren": {
        "clients_per_fte": 420,
        "decisions_per_client": 1.0,
        "sat": 7.3,
        "timely": 0.95,
        "objections": 4,
        "digital": 0.85,
    },
    "vergunnen_toetsen": {
        "clients_per_fte": 80,
        "decisions_per_client": 0.8,
        "sat": 7.0,
        "timely": 0.86,
        "objections": 10,
        "digital": 0.70,
    },
    "opvang_zorg_justitie": {
        "clients_per_fte": 8,
        "decisions_per_client": 1.2,
        "sat": 6.7,
        "timely": 0.85,
        "objections": 8,
        "digital": 0.50,
    },
}
_FTE_ANCHORS: dict[str, float] = {
    "BD": 27000,
    "UWV": 19000,
    "DJI": 16000,
    "RWS": 9500,
    "COA": 7000,
    "SVB": 5600,
    "DUO": 5400,
    "TSL": 5200,
}
_SURVEY_N: dict[str, tuple[int, int]] = {"groot": (1200, 2500), "middel": (500, 1500), "klein": (300, 800)}
_CHANNEL_SURVEY_MIX: dict[str, float] = {"telefoon": 0.34, "web": 0.34, "app": 0.10, "balie": 0.08, "post": 0.14}
_CHANNEL_SAT_OFFSET: dict[str, float] = {"telefoon": -0.2, "web": 0.0, "app": 0.15, "balie": 0.25, "post": -0.3}

_KNOWN_PRODUCTS: dict[str, tuple[tuple[str, str], ...]] = {
    # the demo merger's successor: the products of both predecessors (each keeps at least two)
    "ILDI": (
        ("VERV", "Toezicht vervoer"),
        ("FREQ", "Frequentievergunning"),
        ("WATER", "Toezicht water en bodem"),
        ("NUMM", "Nummeruitgifte"),
        ("SPOOR", "Toezicht spoor"),
        ("DIGI", "Toezicht digitale infrastructuur"),
    ),
    "UWV": (
        ("WW", "WW-uitkering"),
        ("WIA", "WIA-uitkering"),
        ("ZW", "Ziektewetuitkering"),
        ("WAJONG", "Wajong-uitkering"),
    ),
    "SVB": (("AOW", "AOW-pensioen"), ("ANW", "Anw-uitkering"), ("AKW", "Kinderbijslag"), ("PGB", "Trekkingsrecht pgb")),
    "DUO": (
        ("SF", "Studiefinanciering"),
        ("TS", "Tegemoetkoming scholieren"),
        ("LLK", "Levenlanglerenkrediet"),
        ("TERUG", "Terugbetaling studieschuld"),
        ("DIPL", "Diplomaregister en -waardering"),
    ),
    "TSL": (
        ("ZT", "Zorgtoeslag"),
        ("HT", "Huurtoeslag"),
        ("KOT", "Kinderopvangtoeslag"),
        ("KGB", "Kindgebonden budget"),
    ),
    "BD": (
        ("IB", "Aanslag inkomstenbelasting"),
        ("VPB", "Aanslag vennootschapsbelasting"),
        ("OB", "Omzetbelasting"),
        ("INV", "Invordering en betalingsregelingen"),
    ),
    "CAK": (
        ("WLZ", "Eigen bijdrage Wlz"),
        ("WMO", "Eigen bijdrage Wmo"),
        ("WANB", "Regeling wanbetalers zorgverzekering"),
    ),
    "CJIB": (
        ("WAHV", "Verkeersboetes (Wahv)"),
        ("STRAFB", "Strafbeschikkingen"),
        ("SCHADE", "Schadevergoedingsmaatregelen"),
    ),
    "LBIO": (("KALIM", "Inning kinderalimentatie"), ("PALIM", "Inning partneralimentatie")),
    "RDW": (
        ("KENT", "Kentekenregistratie auto’s"),
        ("TYPE", "Typegoedkeuring voertuigen"),
        ("RIJB", "Rijbewijzen"),
        ("APK", "Toezicht op APK-keuringen"),
    ),
    "KAD": (("INSCHR", "Inschrijving akten"), ("METING", "Kadastrale metingen"), ("INFO", "Informatieverstrekking")),
    "KVK": (("INSCHR", "Inschrijving onderneming"), ("WIJZ", "Wijziging inschrijving"), ("UITTR", "Uittreksels")),
    "RVIG": (("BRP", "Correcties BRP"), ("REISD", "Reisdocumenten en identiteitskaarten")),
    "CBR": (
        ("PRAKB", "Praktijkexamen B"),
        ("THEO", "Theorie-examens"),
        ("MED", "Medische keuring (gezondheidsverklaring)"),
        ("BEROEP", "Beroepsexamens"),
    ),
    "IND": (
        ("VERBL", "Verblijfsvergunning regulier"),
        ("NATUR", "Naturalisatie"),
        ("ASIEL", "Asielaanvraag"),
        ("MVV", "Machtiging voorlopig verblijf"),
    ),
    "JUSTIS": (("VOG", "Verklaring omtrent het gedrag"), ("NAAM", "Naamswijziging"), ("BIBOB", "Bibob-adviezen")),
    "CIZ": (("WLZ", "Indicatie Wlz"), ("HERIND", "Herindicatie")),
    "COA": (
        ("OPV", "Opvang asielzoekers"),
        ("HUISV", "Uitstroom naar huisvesting statushouders"),
        ("RVA", "Verstrekkingen Rva"),
    ),
    "DJI": (
        ("PI", "Penitentiaire inrichtingen"),
        ("JJI", "Justitiële jeugdinrichtingen"),
        ("FPC", "Tbs en forensische zorg"),
        ("VREEMD", "Vreemdelingenbewaring"),
    ),
    "RVR": (("TOEV", "Toevoegingen rechtsbijstand"), ("EIGENB", "Eigen bijdrage en herzieningen")),
}
_GENERIC_PRODUCT_NAMES: tuple[str, ...] = (
    "Aanvraag vergunning",
    "Beschikking subsidie",
    "Registratie en wijziging",
    "Toetsing en advies",
    "Inspectie en toezicht",
    "Informatieverzoeken",
    "Beëindiging registratie",
    "Herbeoordeling",
    "Certificering",
    "Ontheffingen",
    "Erkenningen",
    "Meldingen en signalen",
    "Handhavingsbesluiten",
    "Financiële bijdragen",
    "Gegevenslevering aan ketenpartners",
    "Controle en verificatie",
    "Bijzondere regelingen",
    "Rapportages en adviezen",
    "Vergunning café’s en evenementen",
)
_NORM_DAYS: tuple[int, ...] = (14, 28, 42, 56, 56, 56, 84, 182)

_DEV_QUESTIONS: dict[str, str] = {
    "klanttevredenheid": (
        "Hoe brengen we bij {name} het rapportcijfer van klanten naar ≥ 7,5, vooral na telefonisch contact?"
    ),
    "tijdigheid": (
        "Welke aanpak helpt {name} om besluiten vaker binnen de wettelijke termijn te nemen zonder kwaliteitsverlies?"
    ),
    "bezwaar_klachten": (
        "Hoe voorkomen we bij {name} bezwaren door besluiten beter uit te leggen, "
        "bijvoorbeeld met een telefoontje vóór het besluit?"
    ),
    "bereikbaarheid": "Hoe verhogen we de telefonische bereikbaarheid van {name} naar ≥ 90% in piekmaanden?",
    "digitaal": (
        "Wat hielp andere organisaties om het aandeel digitale aanvragen te laten groeien, "
        "ook bij cliënten met weinig digitale vaardigheden?"
    ),
    "kosten": "Waar zitten de verschillen in kosten per fte tussen {name} en vergelijkbare organisaties?",
    "personeel": (
        "Welke maatregelen tegen langdurig verzuim werken bij organisaties met veel medewerkers in klantcontact?"
    ),
    "ict": (
        "Hoe verminderen we bij {name} de afhankelijkheid van externe ICT-inhuur (nu ca. € {ict_mln} mln) "
        "zonder projecten te vertragen?"
    ),
}

_FAULT_PREFERENCE: dict[str, str] = {
    "missing_sheet": "JUSTIS",
    "parts_exceed_total": "CAK",
    "percentage_over_100": "IND",
    "text_in_number": "CJIB",
    "duplicate_product": "RDW",
    "yoy_jump": "NVWA",
    "yoy_jump_explained": "DICTU",
    "out_of_range": "CBR",
}
_YOY_FAULTS = ("yoy_jump", "yoy_jump_explained")


@dataclass(frozen=True)
class CsvStyle:
    """How one organisation's Excel exports its CSV files."""

    thousands: bool = False
    placeholder: str = ""

    @classmethod
    def random(cls, rng: np.random.Generator) -> CsvStyle:
        options = ("",) + PLACEHOLDERS
        return cls(thousands=bool(rng.random() < 0.5), placeholder=options[int(rng.integers(0, len(options)))])


@dataclass
class DemoDelivery:
    """One synthetic submission as it arrives at the programme office."""

    org_code: str
    year: int
    fmt: str
    name: str
    sheets: dict[str, pd.DataFrame]
    received_order: int
    encoding: str = "utf-8-sig"
    fault: str | None = None
    note: str = ""
    csv_style: CsvStyle = field(default_factory=CsvStyle)
    template_version: str | None = None  # an older template version the delivery was made from (None: current)
    round: int = 1  # 1: the first deliveries; 2, 3: corrections and explanations after feedback; 4: after release


@dataclass(frozen=True)
class _Product:
    code: str
    name: str
    share: float
    norm_days: int
    timely_offset: float
    lead_factor: float
    p90_factor: float
    objection_factor: float
    complaint_factor: float
    digital_offset: float
    stp_offset: float
    cost_factor: float
    units_per_decision: float
    changes_per_decision: float
    application_share: float


@dataclass(frozen=True)
class _Profile:
    org: Organisation
    fte0: float
    fte_growth: float
    salary: float
    hire: float
    hire_trend: float
    ict_hire_frac: float
    other_cost: float
    ict_material_frac: float
    overhead: float
    overhead_mix: tuple[float, ...]
    absence: float
    absence_trend: float
    part_time: float
    inflow: float
    outflow: float
    retire: float
    reports_retirement: bool
    young: float
    old: float
    sick_freq: float
    incl_pregnancy: bool
    clients0: float
    client_growth: float
    decisions_per_client: float
    alloc_share: float
    timely: float
    objections: float
    upheld: float
    partly_upheld: float
    objection_timely: float
    complaints: float
    complaint_timely: float
    digital: float
    digital_trend: float
    stp: float
    stp_trend: float
    answer: float
    definition: str
    ivr_share: float
    reports_ivr: bool
    wait_sec: float
    calls_per_client: float
    correct: float
    channels: tuple[str, ...]
    sat: float
    sat_trend: float
    aspect_offsets: tuple[float, ...]
    aspects_asked: tuple[bool, ...]
    aspect_rho: float
    reports_p90: bool
    response: float
    products: tuple[_Product, ...]
    survey_n: int = 0
    small_survey: bool = False
    weighted: bool = False
    prefers_csv: bool = False
    encoding: str = "utf-8-sig"
    csv_style: CsvStyle = CsvStyle()


@dataclass(frozen=True)
class _Fault:
    id: str
    org_code: str
    year: int
    sheet: str
    field: str | None
    row: int | None
    key: str | None
    severity: str | None
    rule: str | None
    expected: str


# ------------------------------------------------------------------ randomness


def _key(part: int | str) -> int:
    if isinstance(part, str):
        return zlib.crc32(part.encode("utf-8"))
    return int(part) % (2**63)


def _rng(seed: int, *parts: int | str) -> np.random.Generator:
    """A generator that depends only on the seed and the given labels."""
    return np.random.default_rng(np.random.SeedSequence([_key(seed), *(_key(p) for p in parts)]))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# ------------------------------------------------------------------ profiles


def _products(org: Organisation, rng: np.random.Generator) -> tuple[_Product, ...]:
    known = _KNOWN_PRODUCTS.get(org.org_code)
    if known is None:
        count = int(rng.integers(2, 9))
        picks = rng.choice(len(_GENERIC_PRODUCT_NAMES), size=count, replace=False)
        known = tuple((f"P{i + 1:02d}", _GENERIC_PRODUCT_NAMES[int(j)]) for i, j in enumerate(picks))
    shares = rng.dirichlet(np.full(len(known), 2.0))
    shares = np.maximum(shares, 0.04)
    shares = shares / shares.sum()
    objection = rng.lognormal(0, 0.35, len(known))
    complaint = rng.lognormal(0, 0.3, len(known))
    objection, complaint = objection / (shares @ objection), complaint / (shares @ complaint)
    products = []
    for i, ((code, name), share) in enumerate(zip(known, shares)):
        products.append(
            _Product(
                code=code,
                name=name,
                share=float(share),
                norm_days=int(rng.choice(_NORM_DAYS)),
                timely_offset=float(rng.normal(0, 0.025)),
                lead_factor=_u(rng, 0.8, 1.2),
                p90_factor=_u(rng, 1.6, 2.8),
                objection_factor=float(objection[i]),
                complaint_factor=float(complaint[i]),
                digital_offset=float(rng.normal(0, 0.04)),
                stp_offset=float(rng.normal(0, 0.05)),
                cost_factor=float(rng.lognormal(0, 0.35)),
                units_per_decision=_u(rng, 0.85, 1.0),
                changes_per_decision=_u(rng, 1.2, 4.0),
                application_share=_u(rng, 0.6, 1.0),
            )
        )
    return tuple(products)


def _cluster_effects(seed: int, cluster: str) -> dict[str, float]:
    rng = _rng(seed, "cluster", cluster)
    return {
        "sat": float(rng.normal(0, 0.12)),
        "timely": float(rng.normal(0, 0.015)),
        "digital": float(rng.normal(0, 0.04)),
        "cost": float(rng.normal(0, 0.05)),
        "clients": float(rng.normal(0, 0.15)),
    }


def _profile(seed: int, org: Organisation) -> _Profile:
    rng = _rng(seed, "org", org.org_code)
    base = _CLUSTER_BASE[org.cluster]
    eff = _cluster_effects(seed, org.cluster)
    lo, hi = SIZE_FTE[org.size_class]
    fte0 = math.exp(_u(rng, math.log(lo * 1.15), math.log(hi * 0.8)))
    if org.org_code in _FTE_ANCHORS:
        fte0 = float(np.clip(_FTE_ANCHORS[org.org_code] * rng.lognormal(0, 0.04), lo * 1.05, hi * 0.95))
    management = _u(rng, 0.25, 0.35)
    rest = (1 - management) * rng.dirichlet([7.5, 6.0, 12.0, 3.0, 9.0, 3.6])
    answer = _u(rng, 0.72, 0.95)
    timely = float(np.clip(base["timely"] + eff["timely"] + rng.normal(0, 0.04), 0.77, 0.985))
    channels = ["telefoon", "web"]
    p_app = {"groot": 0.8, "middel": 0.35, "klein": 0.1}[org.size_class]
    if rng.random() < p_app:
        channels.append("app")
    p_balie = 0.5 if org.cluster in ("opvang_zorg_justitie", "registreren", "vergunnen_toetsen") else 0.25
    if rng.random() < p_balie:
        channels.append("balie")
    channels.append("post")
    aspect_offsets = rng.normal(0, 0.25, len(ASPECTS))
    aspect_offsets[0] += (answer - 0.85) * 3
    aspect_offsets[2] += (timely - 0.9) * 4
    asked = [True] * len(ASPECTS)
    if rng.random() < 0.25:
        asked[int(rng.integers(0, len(ASPECTS)))] = False
    return _Profile(
        org=org,
        fte0=fte0,
        fte_growth=float(rng.normal(0.01, 0.02)),
        salary=_u(rng, 72_000, 92_000) * (1 + eff["cost"]),
        hire=_u(rng, 0.08, 0.17),
        hire_trend=float(rng.normal(0.003, 0.003)),
        ict_hire_frac=_u(rng, 0.3, 0.6),
        other_cost=_u(rng, 0.25, 0.55),
        ict_material_frac=_u(rng, 0.25, 0.55),
        overhead=_u(rng, 0.11, 0.23),
        overhead_mix=(management, *map(float, rest)),
        absence=_u(rng, 0.05, 0.06),
        absence_trend=float(rng.normal(0.0008, 0.0005)),
        part_time=_u(rng, 1.08, 1.22),
        inflow=_u(rng, 0.05, 0.11),
        outflow=_u(rng, 0.05, 0.10),
        retire=_u(rng, 0.15, 0.4),
        reports_retirement=bool(rng.random() > 0.12),
        young=_u(rng, 0.14, 0.30),
        old=_u(rng, 0.20, 0.38),
        sick_freq=_u(rng, 0.9, 1.6),
        incl_pregnancy=bool(rng.random() < 0.08),
        clients0=fte0 * base["clients_per_fte"] * math.exp(eff["clients"] + rng.normal(0, 0.35)),
        client_growth=float(rng.normal(0.01, 0.02)),
        decisions_per_client=base["decisions_per_client"] * float(rng.lognormal(0, 0.3)),
        alloc_share=_u(rng, 0.82, 0.96),
        timely=timely,
        objections=float(np.clip(base["objections"] * rng.lognormal(0, 0.45), 2.5, 36)),
        upheld=_u(rng, 0.06, 0.25),
        partly_upheld=_u(rng, 0.02, 0.08),
        objection_timely=_u(rng, 0.6, 0.95),
        complaints=float(np.clip(rng.lognormal(math.log(20), 0.6), 3, 120)),
        complaint_timely=_u(rng, 0.7, 0.97),
        digital=float(np.clip(base["digital"] + eff["digital"] + rng.normal(0, 0.08), 0.35, 0.9)),
        digital_trend=_u(rng, 0.01, 0.03),
        stp=_u(rng, 0.3, 0.85),
        stp_trend=_u(rng, 0.0, 0.025),
        answer=answer,
        definition="AGENT_IVR" if rng.random() < 0.35 else "AGENT",
        ivr_share=_u(rng, 0.04, 0.15),
        reports_ivr=bool(rng.random() > 0.3),
        wait_sec=_u(rng, 60, 420),
        calls_per_client=float(np.clip(rng.lognormal(math.log(0.4), 0.5), 0.05, 2.0)),
        correct=_u(rng, 0.82, 0.97),
        channels=tuple(channels),
        sat=float(np.clip(base["sat"] + eff["sat"] + rng.normal(0, 0.25), 6.45, 7.7)),
        sat_trend=float(rng.normal(0.03, 0.03)),
        aspect_offsets=tuple(map(float, aspect_offsets)),
        aspects_asked=tuple(asked),
        aspect_rho=_u(rng, 0.55, 0.75),
        reports_p90=bool(rng.random() > 0.15),
        response=_u(rng, 0.12, 0.40),
        products=_products(org, rng),
    )


def _assign(seed: int, profiles: dict[str, _Profile]) -> dict[str, _Profile]:
    """Cross-organisation assignments: file format, encoding, weights and small surveys."""
    codes = sorted(profiles)
    rng = _rng(seed, "assign")
    n = len(codes)
    csv_orgs = set(rng.permutation(codes)[: round(n / 3)].tolist())
    weighted = set(rng.permutation(codes)[: n // 2].tolist())
    small_pool = [c for c in codes if profiles[c].org.size_class == "klein" and c != MISSING_ORG]
    small = set(rng.permutation(small_pool)[:3].tolist()) if small_pool else set()
    out: dict[str, _Profile] = {}
    for code in codes:
        p = profiles[code]
        r = _rng(seed, "style", code)
        lo, hi = (80, 150) if code in small else _SURVEY_N[p.org.size_class]
        out[code] = replace(
            p,
            survey_n=int(r.integers(lo, hi + 1)),
            small_survey=code in small,
            weighted=code in weighted,
            prefers_csv=code in csv_orgs,
            encoding="cp1252" if r.random() < 0.5 else "utf-8-sig",
            csv_style=CsvStyle.random(r),
        )
    return out


def _weak_themes(profiles: dict[str, _Profile], count: int, k: int) -> dict[str, str]:
    """The organisations that are weakest on some theme around year index ``k``, with that theme."""
    codes = sorted(c for c in profiles if c != MISSING_ORG)
    ps = [profiles[c] for c in codes]
    metrics: dict[str, list[float]] = {
        "klanttevredenheid": [-(p.sat + p.sat_trend * k) for p in ps],
        "tijdigheid": [-p.timely for p in ps],
        "bezwaar_klachten": [math.log(p.objections) for p in ps],
        "bereikbaarheid": [-p.answer for p in ps],
        "digitaal": [-(p.digital + p.digital_trend * k) for p in ps],
        "kosten": [p.salary * (1 / (1 - p.hire - p.hire_trend * k) + p.other_cost) for p in ps],
        "personeel": [p.absence + p.absence_trend * k + (0.004 if p.incl_pregnancy else 0.0) for p in ps],
        "ict": [(p.hire + p.hire_trend * k) * p.ict_hire_frac for p in ps],
    }
    z = {}
    for theme, values in metrics.items():
        v = np.asarray(values)
        sd = v.std() or 1.0
        z[theme] = (v - v.mean()) / sd
    best: list[tuple[float, str, str]] = []
    for i, code in enumerate(codes):
        theme = max(metrics, key=lambda t: (z[t][i], t))
        best.append((float(z[theme][i]), code, theme))
    best.sort(key=lambda t: (-t[0], t[1]))
    return {code: theme for _, code, theme in best[:count]}


# ------------------------------------------------------------------ yearly drivers


def _drivers(
    p: _Profile, years: list[int], rng: np.random.Generator, merger_year: int | None
) -> dict[int, dict[str, Any]]:
    """Persistent effects plus trends and small yearly noise, per year."""
    lo, hi = SIZE_FTE[p.org.size_class]
    out: dict[int, dict[str, Any]] = {}
    fte, clients = p.fte0, p.clients0
    walks = np.ones(len(p.products))
    for k, year in enumerate(years):
        if k > 0:
            fte = float(np.clip(fte * math.exp(np.clip(p.fte_growth + rng.normal(0, 0.025), -0.09, 0.09)), lo, hi))
            clients = clients * math.exp(np.clip(p.client_growth + rng.normal(0, 0.025), -0.09, 0.09))
            walks = walks * np.exp(np.clip(rng.normal(0, 0.04, len(walks)), -0.09, 0.09))
        if year == merger_year and k > 0:
            fte = out[years[k - 1]]["fte"] * MERGER_FACTOR
        out[year] = {
            "k": k,
            "fte": fte,
            "clients": clients,
            "walks": walks.copy(),
            "salary": p.salary * 1.03**k,
            "absence": float(np.clip(p.absence + p.absence_trend * k + rng.normal(0, 0.0015), 0.048, 0.065)),
            "overhead": float(np.clip(p.overhead + rng.normal(0, 0.004), 0.102, 0.245)),
            "hire": float(np.clip(p.hire + p.hire_trend * k + rng.normal(0, 0.006), 0.082, 0.195)),
            "digital": float(np.clip(p.digital + p.digital_trend * k + rng.normal(0, 0.008), 0.3, 0.97)),
            "stp": float(np.clip(p.stp + p.stp_trend * k + rng.normal(0, 0.01), 0.2, 0.95)),
            "sat": float(np.clip(p.sat + p.sat_trend * k + rng.normal(0, 0.06), 6.4, 7.8)),
            "timely": float(np.clip(p.timely + rng.normal(0, 0.012), 0.77, 0.985)),
            "answer": float(np.clip(p.answer + rng.normal(0, 0.015), 0.70, 0.97)),
            "objections": float(np.clip(p.objections * math.exp(rng.normal(0, 0.06)), 2, 40)),
        }
    return out


# ------------------------------------------------------------------ sheets


def _column(values: Sequence[Any] | np.ndarray, f: Field) -> Any:
    if f.type == "integer":
        if any(v is None for v in values):
            return pd.array(values, dtype="Int64")
        return np.asarray(values, dtype=np.int64)
    if f.type == "number":
        return np.asarray(values, dtype=np.float64)
    return pd.array(values, dtype="str")


def _frame(sheet: str, columns: Mapping[str, Sequence[Any] | np.ndarray], n: int) -> pd.DataFrame:
    """A frame with every registry field of ``sheet`` as a column, in registry order."""
    spec = registry().sheet(sheet)
    data = {f.code: _column(columns.get(f.code, [None] * n), f) for f in spec.fields}
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def _organisation(p: _Profile, year: int, d: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    fte = round(d["fte"], 2)
    overhead_total = d["fte"] * d["overhead"]
    parts = [round(overhead_total * share, 2) for share in p.overhead_mix]
    head = round(d["fte"] * p.part_time * math.exp(rng.normal(0, 0.01)))
    inflow = round(head * p.inflow * math.exp(rng.normal(0, 0.1)))
    outflow = round(head * p.outflow * math.exp(rng.normal(0, 0.1)))
    retired = int(rng.binomial(outflow, p.retire)) if p.reports_retirement else None
    end_head = max(head + round((inflow - outflow) / 2), 1)
    young = float(np.clip(p.young - 0.004 * d["k"] + rng.normal(0, 0.005), 0.08, 0.4))
    old = float(np.clip(p.old + 0.003 * d["k"] + rng.normal(0, 0.005), 0.1, 0.45))
    n_young, n_old = round(end_head * young), round(end_head * old)
    available = round(fte * 365)
    absence = d["absence"] + (0.004 if p.incl_pregnancy else 0.0)
    salary = d["salary"]
    payroll = round(d["fte"] * salary)
    hire = round(payroll * d["hire"] / (1 - d["hire"]))
    other = payroll * p.other_cost * math.exp(rng.normal(0, 0.03))
    costs = round(payroll + hire + other)
    return {
        "org_code": p.org.org_code,
        "jaar": year,
        "fte_totaal": fte,
        **dict(zip(OVERHEAD_FIELDS, parts)),
        "gem_personeelsleden": head,
        "n_instroom_personeel": inflow,
        "n_uitstroom_personeel": outflow,
        "n_uitstroom_pensioen": retired,
        "n_leeftijd_tot35": n_young,
        "n_leeftijd_35_54": end_head - n_young - n_old,
        "n_leeftijd_55plus": n_old,
        "gem_leeftijd": round(27.5 * young + 45.0 * (1 - young - old) + 59.5 * old + rng.normal(0, 0.3), 1),
        "verzuimdagen": float(round(available * absence)),
        "beschikbare_dagen": float(available),
        "incl_zwangerschap": "ja" if p.incl_pregnancy else "nee",
        "n_ziekmeldingen": round(head * p.sick_freq * math.exp(rng.normal(0, 0.05))),
        "apparaatskosten_totaal": float(costs),
        "loonsom_eigen": float(payroll),
        "kosten_inhuur": float(hire),
        "kosten_inhuur_ict": float(round(hire * p.ict_hire_frac)),
        "kosten_overhead": float(round(overhead_total * salary * 1.05 + other * 0.3)),
        "ict_personeel": float(round(parts[3] * salary * 1.1)),
        "ict_materieel": float(round(other * p.ict_material_frac)),
        "n_klanten_actief": round(d["clients"]),
    }


def _products_frame(p: _Profile, d: dict[str, Any], costs: float, rng: np.random.Generator) -> pd.DataFrame:
    decisions_total = d["clients"] * p.decisions_per_client
    weights = np.array([pr.share for pr in p.products]) * d["walks"]
    cost_weights = weights * np.array([pr.cost_factor for pr in p.products])
    cost_weights = cost_weights / cost_weights.sum()
    cols: dict[str, list[Any]] = {}

    def put(name: str, value: Any) -> None:
        cols.setdefault(name, []).append(value)

    for i, pr in enumerate(p.products):
        besluiten = max(50, round(decisions_total * weights[i]))
        timely = float(np.clip(d["timely"] + pr.timely_offset + rng.normal(0, 0.008), 0.74, 0.99))
        instroom = round(besluiten * math.exp(rng.normal(0.01, 0.03)))
        median = round(float(np.clip(pr.norm_days * pr.lead_factor * (0.35 + 2 * (1 - timely)), 1, 700)), 1)
        objections = int(rng.poisson(besluiten * d["objections"] * pr.objection_factor / 1000))
        decided = round(objections * _u(rng, 0.9, 1.05))
        upheld = int(rng.binomial(decided, p.upheld))
        partly = int(rng.binomial(decided - upheld, p.partly_upheld / (1 - p.upheld)))
        complaints = int(rng.poisson(d["clients"] * weights[i] * p.complaints * pr.complaint_factor / 10_000))
        handled = round(complaints * _u(rng, 0.92, 1.03))
        applications = round(instroom * pr.application_share)
        changes = round(besluiten * pr.changes_per_decision)
        put("product_code", pr.code)
        put("product_naam", pr.name)
        put("n_instroom_zaken", instroom)
        put("n_besluiten", besluiten)
        put("n_besluiten_tijdig", int(rng.binomial(besluiten, timely)))
        put("norm_termijn_dagen", pr.norm_days)
        put("doorlooptijd_mediaan", median)
        put("doorlooptijd_p90", round(min(median * pr.p90_factor, 3650.0), 1) if p.reports_p90 else None)
        put("n_voorraad_eind", round(instroom * median / 365 * _u(rng, 1.0, 1.6)))
        put("n_bezwaren_ontvangen", objections)
        put("n_bezwaren_afgehandeld", decided)
        put("n_bezwaren_gegrond", upheld)
        put("n_bezwaren_deels_gegrond", partly)
        put("n_bezwaren_tijdig", int(rng.binomial(decided, p.objection_timely)))
        put("n_klachten", complaints)
        put("n_klachten_afgehandeld", handled)
        put("n_klachten_tijdig", int(rng.binomial(handled, p.complaint_timely)))
        put("n_aanvragen_totaal", applications)
        digital = float(np.clip(d["digital"] + pr.digital_offset, 0.05, 0.99))
        put("n_aanvragen_digitaal", int(rng.binomial(applications, digital)))
        put("n_mutaties", changes)
        put("n_mutaties_stp", int(rng.binomial(changes, float(np.clip(d["stp"] + pr.stp_offset, 0.02, 0.98)))))
        put("apparaatskosten_product", float(math.floor(costs * p.alloc_share * cost_weights[i])))
        put("n_producten", round(besluiten * pr.units_per_decision))
    return _frame("producten", cols, len(p.products))


def _channels_frame(p: _Profile, d: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    clients, k = d["clients"], d["k"]
    cols: dict[str, list[Any]] = {}
    for channel in p.channels:
        row: dict[str, Any] = {"kanaal": channel}
        if channel == "telefoon":
            offered = max(500, round(clients * p.calls_per_client * math.exp(-0.03 * k + rng.normal(0, 0.03))))
            if p.definition == "AGENT_IVR":
                ivr = int(rng.binomial(offered, p.ivr_share))
                rate = float(np.clip((d["answer"] * offered - ivr) / (offered - ivr), 0.3, 0.999))
                agent = int(rng.binomial(offered - ivr, rate))
                ivr_value: int | None = ivr
            else:
                agent = int(rng.binomial(offered, d["answer"]))
                ivr_value = int(rng.binomial(offered - agent, 0.3)) if p.reports_ivr else None
            sample = int(rng.integers(150, 1200))
            row.update(
                {
                    "n_contacten": offered,
                    "n_beantwoord_agent": agent,
                    "n_ivr_afgehandeld": ivr_value,
                    "sum_wachttijd_sec": float(round(agent * p.wait_sec * math.exp(rng.normal(0, 0.08)))),
                    "n_steekproef": sample,
                    "n_steekproef_correct": int(rng.binomial(sample, p.correct)),
                    "definitie_code": p.definition,
                }
            )
        else:
            per_client = {"web": (6.0, 0.05), "app": (3.0, 0.15), "balie": (0.1, -0.04), "post": (0.5, -0.06)}
            level, trend = per_client[channel]
            row["n_contacten"] = max(100, round(clients * level * math.exp(trend * k + rng.normal(0, 0.04))))
        for code in registry().sheet("kanalen").field_codes:
            cols.setdefault(code, []).append(row.get(code))
    return _frame("kanalen", cols, len(p.channels))


def _survey_frame(p: _Profile, year: int, d: dict[str, Any], n: int, rng: np.random.Generator) -> pd.DataFrame:
    channels = list(p.channels)
    mix = np.array([_CHANNEL_SURVEY_MIX[c] for c in channels])
    chan_idx = rng.choice(len(channels), size=n, p=mix / mix.sum())
    chan = np.array(channels, dtype=object)[chan_idx]
    no_channel = rng.random(n) < 0.04
    chan[no_channel] = None
    weights = np.array([pr.share for pr in p.products]) * d["walks"]
    prod_idx = rng.choice(len(p.products), size=n, p=weights / weights.sum())
    prod = np.array([pr.code for pr in p.products], dtype=object)[prod_idx]
    prod[rng.random(n) < 0.03] = None
    offset = np.where(no_channel, 0.0, np.array([_CHANNEL_SAT_OFFSET[c] for c in channels])[chan_idx])
    z = rng.normal(0, 1, n)
    mu = d["sat"] + offset
    cols: dict[str, Any] = {
        "resp_id": [f"{p.org.org_code}-{year}-{i + 1:05d}" for i in range(n)],
        "product_code": prod,
        "kanaal": chan,
        "q_overall": np.clip(np.rint(mu + 1.35 * z + rng.normal(0, 0.5, n)), 1, 10),
    }
    rho = p.aspect_rho
    for a, off, asked in zip(ASPECTS, p.aspect_offsets, p.aspects_asked):
        values = np.clip(np.rint(mu + off + 1.4 * (rho * z + math.sqrt(1 - rho**2) * rng.normal(0, 1, n))), 1, 10)
        values[rng.random(n) < _u(rng, 0.03, 0.12)] = np.nan
        cols[a] = values if asked else np.full(n, np.nan)
    if p.weighted:
        w = rng.lognormal(0, 0.45, n)
        cols["weight"] = np.clip(np.round(w / w.mean(), 4), 0.05, 50)
    return _frame("enquete", cols, n)


def _explanations(p: _Profile, year: int, products: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    name = p.org.name
    pool: list[dict[str, Any]] = [
        {
            "blad": "organisatie",
            "veld": "kosten_inhuur_ict",
            "status_waarde": "geschat",
            "toelichting": (
                "ICT-inhuur wordt niet apart geadministreerd; het bedrag is geschat op basis van "
                "de contractadministratie."
            ),
        },
        {
            "blad": "organisatie",
            "veld": "kosten_overhead",
            "status_waarde": "definitief",
            "toelichting": f"Overheadkosten van {name} inclusief € 1,2 mln huisvesting van stafafdelingen.",
        },
        {
            "blad": "kanalen",
            "veld": "n_contacten",
            "status_waarde": "voorlopig",
            "toelichting": (
                'Websessies zijn vanaf dit jaar gemeten met een nieuwe analysetool; "bots" zijn uitgefilterd.'
            ),
        },
        {
            "blad": "enquete",
            "veld": "q_overall",
            "status_waarde": "definitief",
            "toelichting": (
                f"Veldwerk van september tot november {year}; cliënten met een lopende "
                "bezwaarprocedure zijn niet benaderd."
            ),
        },
        {
            "blad": "organisatie",
            "veld": "ict_materieel",
            "status_waarde": "geschat",
            "toelichting": "Licenties via het rijksbrede contract zijn naar rato toegerekend; bedragen in hele euro’s.",
        },
    ]
    if p.incl_pregnancy:
        pool.insert(
            0,
            {
                "blad": "organisatie",
                "veld": "incl_zwangerschap",
                "status_waarde": "definitief",
                "toelichting": "Het HR-systeem kan zwangerschapsverlof niet scheiden van ziekteverzuim.",
            },
        )
    code = str(products["product_code"].iloc[int(rng.integers(0, len(products)))])
    pool.append(
        {
            "blad": "producten",
            "veld": "n_klachten",
            "product_code": code,
            "status_waarde": "voorlopig",
            "toelichting": (
                "Inclusief uitingen van ongenoegen die direct telefonisch zijn opgelost; zie ook het jaarverslag."
            ),
        }
    )
    pool.append(
        {
            "blad": "producten",
            "veld": "apparaatskosten_product",
            "product_code": code,
            "status_waarde": "geschat",
            "toelichting": (
                "Toerekening op basis van tijdschrijven; circa 8% van de kosten is niet aan producten toegerekend."
            ),
        }
    )
    count = int(rng.choice([0, 1, 2, 3], p=[0.4, 0.3, 0.2, 0.1]))
    picks = sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False).tolist())
    return [pool[i] for i in picks]


def _toelichting_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    codes = registry().sheet("toelichting").field_codes
    return _frame("toelichting", {c: [r.get(c) for r in rows] for c in codes}, len(rows))


# ------------------------------------------------------------------ faults


# The demo's own register: the packaged one plus a merger of two members in the middle of the demo years,
# so that reports, trends and plausibility show a series that continues through a merger.
DEMO_MERGER: tuple[str, tuple[str, ...], int] = ("ILDI", ("ILT", "RDI"), 2024)
_DEMO_MERGER_ROW = (
    "ILDI,Inspectie Leefomgeving en Digitale Infrastructuur,ILDI,vergunnen_toetsen,middel,{year},,{preds},"
)


def demo_register_text(packaged: str) -> str:
    """The demo's organisation register (CSV text): ``packaged`` with :data:`DEMO_MERGER` applied (the two
    predecessors end the year before the merger and name the new organisation as successor)."""
    code, preds, year = DEMO_MERGER
    rows = list(csv.reader(packaged.splitlines()))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    if any(r and r[col["org_code"]] == code for r in body):
        return packaged
    for r in body:
        if r and r[col["org_code"]] in preds:
            r[col["member_until"]] = str(year - 1)
            r[col["successor_code"]] = code
    out = [",".join(header)]
    for r in body:
        buf = []
        for v in r:
            buf.append(f'"{v}"' if "," in v else v)
        out.append(",".join(buf))
    out.append(_DEMO_MERGER_ROW.format(year=year, preds=";".join(preds)))
    return "\n".join(out) + "\n"


def demo_organisations() -> list[Organisation]:
    """The demo's register (the packaged register with the demo merger)."""
    import tempfile
    from importlib import resources

    text = demo_register_text(resources.files("pipeline.metadata").joinpath("organisations.csv").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").mkdir()
        (Path(tmp) / "data" / "organisations.csv").write_text(text, "utf-8")
        return load_organisations(Path(tmp))


def _select_orgs(orgs: Sequence[Organisation] | None, years: list[int]) -> list[Organisation]:
    pool = demo_organisations() if orgs is None else list(orgs)
    return sorted((o for o in pool if any(o.is_member(y) for y in years)), key=lambda o: o.org_code)


_FAULT_SPEC: dict[str, tuple[str, str | None, int | None, str | None, str | None, str]] = {
    # id: (sheet, field, row, severity, rule, expected outcome)
    "missing_sheet": (
        "kanalen",
        None,
        None,
        "error",
        "required_sheet",
        "rejected: the required sheet kanalen is missing",
    ),
    "parts_exceed_total": (
        "organisatie",
        "fte_overhead_management",
        0,
        "error",
        "overhead_le_totaal",
        "rejected: overhead FTE parts exceed fte_totaal",
    ),
    "percentage_over_100": (
        "producten",
        "n_besluiten_tijdig",
        0,
        "error",
        "tijdig_le_besluiten",
        "rejected: more decisions on time than decisions",
    ),
    "text_in_number": ("producten", "n_klachten", 0, "error", "type", "rejected: text 'ca. 1200' in an integer field"),
    "duplicate_product": ("producten", "product_code", 1, "error", "unique", "rejected: product_code appears twice"),
    "yoy_jump": (
        "organisatie",
        "apparaatskosten_totaal",
        0,
        "warning",
        "yoy",
        "warning: +60% against the previous year, no explanation",
    ),
    "yoy_jump_explained": (
        "organisatie",
        "fte_totaal",
        0,
        "warning",
        "yoy",
        "warning, explained by a toelichting row (merger)",
    ),
    "out_of_range": ("enquete", "q_overall", 17, "error", "range", "rejected: q_overall = 11 is above the maximum 10"),
    "resubmission": (
        "organisatie",
        "fte_overhead_management",
        0,
        None,
        None,
        "accepted: corrected resubmission supersedes the rejected delivery",
    ),
}


def _eligible(p: _Profile, fid: str, years: list[int]) -> bool:
    if not p.org.is_member(years[-1]):
        return False
    if fid in _YOY_FAULTS:
        return len(years) > 1 and p.org.is_member(years[-2])
    return True


def _fault_plan(profiles: dict[str, _Profile], years: list[int]) -> list[_Fault]:
    """Which organisation carries which fault, all in the last year and each on a different organisation."""
    last = years[-1]
    used: set[str] = {MISSING_ORG}
    faults: list[_Fault] = []
    for fid, preferred in _FAULT_PREFERENCE.items():
        candidates = [c for c in sorted(profiles) if c not in used and _eligible(profiles[c], fid, years)]
        if not candidates:
            continue
        code = preferred if preferred in candidates else candidates[0]
        used.add(code)
        first_product = profiles[code].products[0].code
        sheet, fld, row, severity, rule, expected = _FAULT_SPEC[fid]
        key = {
            "percentage_over_100": first_product,
            "text_in_number": first_product,
            "duplicate_product": first_product,
            "out_of_range": f"{code}-{last}-{(row or 0) + 1:05d}",
        }.get(fid)
        faults.append(_Fault(fid, code, last, sheet, fld, row, key, severity, rule, expected))
        if fid == "parts_exceed_total":
            sheet, fld, row, severity, rule, expected = _FAULT_SPEC["resubmission"]
            faults.append(_Fault("resubmission", code, last, sheet, fld, row, None, severity, rule, expected))
    return faults


def _apply_fault(fault: _Fault, sheets: dict[str, pd.DataFrame], prev_org: pd.DataFrame | None) -> str:
    """Plant ``fault`` in ``sheets`` (in place) and return the note."""
    if fault.id == "missing_sheet":
        del sheets["kanalen"]
        return "CSV delivery without kanalen.csv; the required sheet is missing, so the delivery must be rejected."
    if fault.id == "parts_exceed_total":
        org = sheets["organisatie"]
        org.loc[0, "fte_overhead_management"] = round(float(org.loc[0, "fte_overhead_management"]) * 100, 2)
        return (
            "fte_overhead_management lost its decimal comma (x100), so the overhead parts exceed fte_totaal; "
            "error on rule overhead_le_totaal, corrected in a later resubmission."
        )
    if fault.id == "percentage_over_100":
        prod = sheets["producten"]
        total = int(prod.loc[0, "n_besluiten"])
        prod.loc[0, "n_besluiten_tijdig"] = total + max(1, round(total * 0.04))
        return (
            f"Product {fault.key}: n_besluiten_tijdig > n_besluiten (104% on time); error on rule tijdig_le_besluiten."
        )
    if fault.id == "text_in_number":
        prod = sheets["producten"]
        prod["n_klachten"] = prod["n_klachten"].astype(object)
        prod.loc[0, "n_klachten"] = "ca. 1200"
        return f"Product {fault.key}: n_klachten holds the text 'ca. 1200'; type error."
    if fault.id == "duplicate_product":
        prod = sheets["producten"]
        prod.loc[1, "product_code"] = prod.loc[0, "product_code"]
        return f"Product code {fault.key} appears on rows 0 and 1 (copy-paste error); uniqueness error."
    if fault.id == "yoy_jump":
        assert prev_org is not None
        value = float(round(float(prev_org.loc[0, "apparaatskosten_totaal"]) * JUMP_FACTOR))
        sheets["organisatie"].loc[0, "apparaatskosten_totaal"] = value
        return (
            "apparaatskosten_totaal is 60% higher than the previous year without a toelichting; "
            "year-on-year warning (the cost-per-FTE ratio may also stand out against peers)."
        )
    if fault.id == "yoy_jump_explained":
        return (
            "Merger: fte_totaal +45% against the previous year (headcount, absence days and costs follow); "
            "toelichting rows explain each jump, so the warnings are shown as explained."
        )
    if fault.id == "out_of_range":
        sheets["enquete"].loc[fault.row, "q_overall"] = 11.0
        return f"Respondent {fault.key} has q_overall = 11; range error (maximum 10)."
    raise ValueError(fault.id)


# ------------------------------------------------------------------ public API


def _delivery_name(code: str, year: int, fmt: str, suffix: str = "") -> str:
    if fmt == "xlsx":
        return f"{code}_benchmark_{year}{suffix}.xlsx"
    return f"{code}_aanlevering_{year}{suffix}"


def _profiles(seed: int, orgs: list[Organisation]) -> dict[str, _Profile]:
    return _assign(seed, {o.org_code: _profile(seed, o) for o in orgs})


def missing_submissions(
    years: Sequence[int] = DEFAULT_YEARS, orgs: Sequence[Organisation] | None = None
) -> list[tuple[str, int]]:
    """(org_code, year) pairs of members that deliberately deliver nothing."""
    ys = sorted(set(int(y) for y in years))
    return [(o.org_code, ys[-1]) for o in _select_orgs(orgs, ys) if o.org_code == MISSING_ORG and o.is_member(ys[-1])]


def planted_faults(
    seed: int = 2025, years: Sequence[int] = DEFAULT_YEARS, orgs: Sequence[Organisation] | None = None
) -> list[dict[str, Any]]:
    """Each planted fault: id, org_code, year, sheet, field, row, key, severity, rule, expected."""
    ys = sorted(set(int(y) for y in years))
    profiles = _profiles(seed, _select_orgs(orgs, ys))
    out = []
    for f in _fault_plan(profiles, ys):
        item = {
            "id": f.id,
            "org_code": f.org_code,
            "year": f.year,
            "sheet": f.sheet,
            "field": f.field,
            "row": f.row,
            "key": f.key,
            "severity": f.severity,
            "rule": f.rule,
            "expected": f.expected,
        }
        if f.id == "yoy_jump_explained":
            item["also_explained"] = list(MERGER_FIELDS[1:])
        out.append(item)
    return out


def _merger_explanations(p: _Profile, year: int) -> list[dict[str, Any]]:
    reason = (
        f"Per 1 januari {year} is een uitvoeringsdienst van het moederdepartement opgegaan in {p.org.name} "
        "(fusie); de formatie steeg daardoor met ca. 45%."
    )
    follow = f"Stijging door de fusie per 1 januari {year}; zie de toelichting bij fte_totaal."
    return [
        {
            "blad": "organisatie",
            "veld": fld,
            "status_waarde": "definitief",
            "toelichting": reason if fld == "fte_totaal" else follow,
        }
        for fld in MERGER_FIELDS
    ]


def _development_question(p: _Profile, theme: str, org_row: dict[str, Any], follow_up: bool) -> str:
    ict_mln = f"{org_row['kosten_inhuur_ict'] / 1e6:.1f}".replace(".", ",")
    text = _DEV_QUESTIONS[theme].format(name=p.org.name, ict_mln=ict_mln)
    return "Vervolg op vorig jaar: " + text if follow_up else text


def _org_year(
    p: _Profile, year: int, d: dict[str, Any], rng: np.random.Generator, theme: str | None, follow_up: bool
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """The four data sheets of one organisation and year, plus its toelichting rows."""
    low, high = (80, 150) if p.small_survey else (300, 2500)
    n_resp = int(np.clip(round(p.survey_n * math.exp(rng.normal(0, 0.08))), low, high))
    org_row = _organisation(p, year, d, rng)
    org_row["ktv_respondenten"] = n_resp
    org_row["ktv_uitgenodigd"] = round(n_resp / float(np.clip(p.response + rng.normal(0, 0.01), 0.08, 0.6)))
    if theme is not None:
        org_row["ontwikkelvraag_thema"] = theme
        org_row["ontwikkelvraag_tekst"] = _development_question(p, theme, org_row, follow_up)
    producten = _products_frame(p, d, org_row["apparaatskosten_totaal"], rng)
    sheets = {
        "organisatie": _frame("organisatie", {k: [v] for k, v in org_row.items()}, 1),
        "producten": producten,
        "kanalen": _channels_frame(p, d, rng),
        "enquete": _survey_frame(p, year, d, n_resp, rng),
    }
    return sheets, _explanations(p, year, producten, rng)


def _answered(code: str, sheets: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``sheets`` with the organisation's answers besides a value written in (``DEMO_ANSWERS``)."""
    prod = sheets.get("producten")
    if prod is None:
        return sheets
    for (org, product, fcode), text in DEMO_ANSWERS.items():
        if org != code or fcode not in prod.columns:
            continue
        rows = prod.index if product == "*" else prod.index[prod["product_code"] == product]
        if len(rows):
            prod[fcode] = prod[fcode].astype(object)
            prod.loc[rows, fcode] = text
    return sheets


def _with_notes(sheets: dict[str, pd.DataFrame], notes: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    out = {k: v.copy() for k, v in sheets.items()}
    if notes:
        out["toelichting"] = _toelichting_frame(notes)
    return out


def generate(
    seed: int = 2025, years: Sequence[int] = DEFAULT_YEARS, orgs: Sequence[Organisation] | None = None
) -> list[DemoDelivery]:
    """The demo deliveries as they first arrive (round 1), sorted by ``received_order``."""
    return generate_rounds(seed, years, orgs)[0]


#: the planted errors whose member sends a corrected delivery after its feedback (round 2)
CORRECTED_FAULTS = ("missing_sheet", "percentage_over_100", "text_in_number", "duplicate_product", "out_of_range")
#: the explanation the demo's analyst returns (round 2) and the one that replaces it (round 3)
WEAK_EXPLANATION = "Klopt."
LATE_CORRECTION_FIELD = "n_besluiten_tijdig"


def generate_rounds(
    seed: int = 2025, years: Sequence[int] = DEFAULT_YEARS, orgs: Sequence[Organisation] | None = None
) -> tuple[list[DemoDelivery], list[DemoDelivery]]:
    """The first deliveries (round 1) and what members send later in the last year's round: corrected
    deliveries of the rejected members and a first, too short explanation of the unexplained jump (round 2),
    the better explanation (round 3), and one member's late correction after the first release (round 4)."""
    ys = sorted(set(int(y) for y in years))
    if not ys:
        return [], []
    last = ys[-1]
    profiles = _profiles(seed, _select_orgs(orgs, ys))
    faults = {(f.org_code, f.year): f for f in _fault_plan(profiles, ys) if f.id != "resubmission"}
    merger = next((f for f in faults.values() if f.id == "yoy_jump_explained"), None)
    weak = _weak_themes(profiles, min(8, max(1, len(profiles) // 4)), max(len(ys) - 2, 0))
    by_year: dict[int, list[DemoDelivery]] = {y: [] for y in ys}
    late: list[DemoDelivery] = []
    later: list[DemoDelivery] = []
    old_template_org = _old_template_org(profiles, faults, last)
    late_corrector = _late_corrector(profiles, faults, last, old_template_org)
    mergers = _mergers(profiles)
    absorbed = {c for preds in mergers.values() for c in preds}
    for code in sorted(profiles):
        if code in absorbed:
            continue  # its deliveries are the successor's figures of those years, split (below)
        p = profiles[code]
        merger_year = merger.year if merger is not None and merger.org_code == code else None
        drivers = _drivers(p, ys, _rng(seed, "drivers", code), merger_year)
        prev_org: pd.DataFrame | None = None
        for year in ys:
            preds = mergers.get(code, ())
            before_merger = bool(preds) and all(profiles[c].org.is_member(year) for c in preds)
            if before_merger and not p.org.is_member(year):
                rng = _rng(seed, "year", code, year)
                data, notes = _org_year(p, year, drivers[year], rng, None, follow_up=False)
                for pred, (part, part_notes) in _split_org_year(data, notes, preds).items():
                    q = profiles[pred]
                    fmt = "csv" if q.prefers_csv else "xlsx"
                    by_year[year].append(
                        DemoDelivery(
                            org_code=pred,
                            year=year,
                            fmt=fmt,
                            name=_delivery_name(pred, year, fmt),
                            sheets=_with_notes(part, part_notes),
                            received_order=0,
                            encoding=q.encoding if fmt == "csv" else "utf-8-sig",
                            note=f"Predecessor of {code} (merger {p.org.member_since}): part of {code}'s figures.",
                            csv_style=q.csv_style,
                            template_version=_template_version(year, False),
                        )
                    )
                prev_org = None
                continue
            if not p.org.is_member(year) or (code == MISSING_ORG and year == last):
                prev_org = None
                continue
            rng = _rng(seed, "year", code, year)
            theme = weak.get(code) if year in ys[-2:] else None
            data, notes = _org_year(p, year, drivers[year], rng, theme, follow_up=year == last and len(ys) > 1)
            fault = faults.get((code, year))
            if fault is not None and fault.id == "yoy_jump_explained":
                notes = _merger_explanations(p, year) + [n for n in notes if n["blad"] != "organisatie"]
            fmt = "csv" if p.prefers_csv else "xlsx"
            if rng.random() < 0.08:
                fmt = "xlsx" if fmt == "csv" else "csv"
            if fault is not None and fault.id == "missing_sheet":
                fmt = "csv"
            encoding = p.encoding if fmt == "csv" else "utf-8-sig"
            if code in _ANSWER_NOTES:
                notes = [*notes, _ANSWER_NOTES[code]]
            sheets = _answered(code, _with_notes(data, notes))
            note = _apply_fault(fault, sheets, prev_org) if fault is not None else ""
            version = _template_version(year, code == old_template_org and year == last)
            if version is not None and not note:
                note = f"Made from the template of version {version}; read through its column map and accepted."
            by_year[year].append(
                DemoDelivery(
                    org_code=code,
                    year=year,
                    fmt=fmt,
                    name=_delivery_name(code, year, fmt),
                    sheets=sheets,
                    received_order=0,
                    encoding=encoding,
                    fault=fault.id if fault is not None else None,
                    note=note,
                    csv_style=p.csv_style,
                    template_version=version,
                )
            )
            later.extend(
                _later_deliveries(
                    code, year, fmt, encoding, p, data, notes, sheets, fault, late_corrector == code and year == last
                )
            )
            if fault is not None and fault.id == "parts_exceed_total":
                fix = {
                    "blad": "organisatie",
                    "veld": "fte_overhead_management",
                    "status_waarde": "definitief",
                    "toelichting": "Gecorrigeerd: in de eerste levering ontbrak de decimale komma bij "
                    "de overhead management.",
                }
                late.append(
                    DemoDelivery(
                        org_code=code,
                        year=year,
                        fmt=fmt,
                        name=_delivery_name(code, year, fmt, "_herzien"),
                        sheets=_answered(code, _with_notes(data, [fix] + notes)),
                        received_order=0,
                        encoding=encoding,
                        fault="resubmission",
                        note=(
                            "Corrected resubmission of the rejected delivery (overhead parts fixed); "
                            "must be accepted and supersede the first one."
                        ),
                        csv_style=p.csv_style,
                    )
                )
            prev_org = data["organisatie"]
    ordered: list[DemoDelivery] = []
    for year in ys:
        batch = by_year[year]
        ordered.extend(batch[int(i)] for i in _rng(seed, "order", year).permutation(len(batch)))
    ordered.extend(late)
    for i, delivery in enumerate(ordered, start=1):
        delivery.received_order = i
    later.sort(key=lambda d: (d.round, d.org_code))
    for i, delivery in enumerate(later, start=len(ordered) + 1):
        delivery.received_order = i
    return ordered, later


def _late_corrector(
    profiles: dict[str, _Profile], faults: dict[tuple[str, int], _Fault], last: int, old_template_org: str | None
) -> str | None:
    """The member that corrects a figure after the first release: one without a planted fault, delivering a
    workbook of the current template."""
    for c in sorted(profiles, reverse=True):
        p = profiles[c]
        if (c, last) in faults or c in (MISSING_ORG, old_template_org) or not p.org.is_member(last):
            continue
        if not p.prefers_csv:
            return c
    return None


def _later_deliveries(
    code: str,
    year: int,
    fmt: str,
    encoding: str,
    p: _Profile,
    data: dict[str, pd.DataFrame],
    notes: list[dict[str, Any]],
    sheets: dict[str, pd.DataFrame],
    fault: _Fault | None,
    corrects_late: bool,
) -> list[DemoDelivery]:
    """What ``code`` sends after its first delivery of ``year`` (only in the last year; see generate_rounds)."""

    def delivery(suffix: str, frames: dict[str, pd.DataFrame], kind: str, round_: int, note: str) -> DemoDelivery:
        return DemoDelivery(
            org_code=code,
            year=year,
            fmt=fmt,
            name=_delivery_name(code, year, fmt, suffix),
            sheets=frames,
            received_order=0,
            encoding=encoding,
            fault=kind,
            note=note,
            csv_style=p.csv_style,
            round=round_,
        )

    out = []
    if fault is not None and fault.id in CORRECTED_FAULTS and fault.year == year:
        fix = {
            "blad": fault.sheet,
            "veld": fault.field or "n_contacten",
            "status_waarde": "definitief",
            "toelichting": "Gecorrigeerde levering na de terugkoppeling van het programmabureau.",
        }
        if fault.sheet == "enquete" or fault.id == "missing_sheet":
            fix = None
        out.append(
            delivery(
                "_herzien",
                _answered(code, _with_notes(data, ([fix] if fix else []) + notes)),
                "correction",
                2,
                f"Corrected delivery after the feedback on '{fault.id}'; accepted, supersedes nothing accepted.",
            )
        )
    if fault is not None and fault.id == "yoy_jump" and fault.year == year:
        jumped = {k: v for k, v in sheets.items() if k != "toelichting"}

        def explained(text: str) -> dict[str, pd.DataFrame]:
            row = {
                "blad": "organisatie",
                "veld": "apparaatskosten_totaal",
                "status_waarde": "definitief",
                "toelichting": text,
            }
            return _with_notes(jumped, [*notes, row])

        out.append(
            delivery(
                "_toelichting",
                explained(WEAK_EXPLANATION),
                "weak_explanation",
                2,
                "The same figures with a one-word explanation of the jump; the analyst returns it.",
            )
        )
        out.append(
            delivery(
                "_toelichting_2",
                explained(
                    f"De apparaatskosten stegen in {year} door de eenmalige vervanging van het inspectiesysteem "
                    "(€ 58 mln, activering niet toegestaan) en de inhuur voor de migratie; vanaf volgend jaar "
                    "vallen deze kosten weg."
                ),
                "explanation",
                3,
                "The same figures with a real explanation of the jump; the analyst accepts it.",
            )
        )
    if corrects_late and fault is None:
        fixed = {k: v.copy() for k, v in _answered(code, _with_notes(data, notes)).items()}
        prod = fixed["producten"]
        total = int(prod.loc[0, "n_besluiten"])
        timely = int(prod.loc[0, LATE_CORRECTION_FIELD])
        prod.loc[0, LATE_CORRECTION_FIELD] = max(0, timely - round(total * 0.12))
        row = {
            "blad": "producten",
            "veld": LATE_CORRECTION_FIELD,
            "product_code": str(prod.loc[0, "product_code"]),
            "status_waarde": "definitief",
            "toelichting": "Correctie na publicatie: beslissingen na een hersteltermijn waren als tijdig geteld.",
        }
        fixed = _with_notes({k: v for k, v in fixed.items() if k != "toelichting"}, [*notes, row])
        out.append(
            delivery(
                "_correctie",
                fixed,
                "late_correction",
                4,
                f"Correction after the first release: {LATE_CORRECTION_FIELD} of the first product lowered by 12% "
                "of its decisions; leads to the second release and its diff.",
            )
        )
    return out


def _mergers(profiles: dict[str, _Profile]) -> dict[str, tuple[str, ...]]:
    """Successor -> predecessors, for each merger in the register of two or more members of the demo that
    ended the year before the successor began."""
    out = {}
    for code, p in profiles.items():
        preds = tuple(
            c
            for c in p.org.predecessor_codes
            if c in profiles and profiles[c].org.member_until == p.org.member_since - 1
        )
        if len(preds) >= 2:
            out[code] = preds
    return out


def _split_org_year(
    sheets: dict[str, pd.DataFrame], notes: list[dict[str, Any]], preds: tuple[str, ...]
) -> dict[str, tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]]:
    """One organisation-year of a merged organisation split over its predecessors, so that their figures add
    up to it exactly: products are divided between them (each product wholly to one), the organisation's
    counts, FTE and costs in proportion to the costs of their products (whole numbers rounded down, the last
    predecessor taking the remainder), channels likewise, respondents divided; means and marks are kept."""
    reg = registry()
    prod = sheets["producten"].reset_index(drop=True)
    owner = [i % len(preds) for i in range(len(prod))]
    cost = prod["apparaatskosten_product"].astype(float).to_numpy()
    total = float(cost.sum()) or 1.0
    shares = [float(cost[[o == k for o in owner]].sum()) / total for k in range(len(preds))]

    def parts(value: Any, f: Field) -> list[Any]:
        if value is None or (not isinstance(value, str) and pd.isna(value)) or not is_additive(f):
            return [value] * len(preds)
        x = float(value)
        out: list[Any] = []
        for share in shares[:-1]:
            out.append(math.floor(x * share) if f.type == "integer" else round(x * share, 2))
        rest = x - sum(out)
        out.append(int(round(rest)) if f.type == "integer" else round(rest, 2))
        return out

    def split_rows(frame: pd.DataFrame, sheet_code: str) -> list[pd.DataFrame]:
        sheet = reg.sheet(sheet_code)
        in_rules = {c for r in reg.rules_for(sheet_code) for c in (*r.parts, r.a, r.b, r.total) if c}
        pieces = [frame.copy() for _ in preds]
        for f in sheet.fields:
            if f.code not in frame.columns or not is_additive(f):
                continue
            cols = [[] for _ in preds]
            # a field no rule ties to another gets its own shares, so the predecessors' ratios differ
            own = in_rules.isdisjoint({f.code}) and len(preds) == 2
            tilt = 0.8 + 0.4 * (zlib.crc32(f.code.encode()) % 1000) / 1000 if own else 1.0
            for v in frame[f.code].tolist():
                if own and not (v is None or pd.isna(v)):
                    first = min(shares[0] * tilt, 0.95) * float(v)
                    first = math.floor(first) if f.type == "integer" else round(first, 2)
                    rest = float(v) - first
                    vals = [first, int(round(rest)) if f.type == "integer" else round(rest, 2)]
                else:
                    vals = parts(v, f)
                for k, x in enumerate(vals):
                    cols[k].append(x)
            for k in range(len(preds)):
                pieces[k][f.code] = cols[k]
        return pieces

    org_parts = split_rows(sheets["organisatie"], "organisatie")
    chan_parts = split_rows(sheets["kanalen"], "kanalen")
    # respondents go with the product they were asked about (the others in turn)
    survey = sheets["enquete"].reset_index(drop=True)
    product_owner = dict(zip(prod["product_code"], owner))
    resp_owner = [
        product_owner.get(pc, i % len(preds)) if isinstance(pc, str) else i % len(preds)
        for i, pc in enumerate(survey["product_code"])
    ]
    invited = sheets["organisatie"]["ktv_uitgenodigd"].iloc[0]
    n_resp = max(len(survey), 1)
    out = {}
    for k, code in enumerate(preds):
        org = org_parts[k]
        org["org_code"] = code
        resp = survey[[o == k for o in resp_owner]].reset_index(drop=True)
        if "ktv_respondenten" in org.columns:
            org["ktv_respondenten"] = len(resp)
            if not pd.isna(invited):
                # invited in proportion to the respondents (rounded down; the last takes the rest)
                taken = sum(math.floor(float(invited) * sum(o == j for o in resp_owner) / n_resp) for j in range(k))
                mine_inv = math.floor(float(invited) * len(resp) / n_resp)
                org["ktv_uitgenodigd"] = mine_inv if k < len(preds) - 1 else int(invited) - taken
        mine = prod[[o == k for o in owner]].reset_index(drop=True)
        codes = set(mine["product_code"])
        part_notes = (
            [n for n in notes if n.get("blad") != "producten" or n.get("product_code") in codes]
            if k == 0
            else [n for n in notes if n.get("blad") == "producten" and n.get("product_code") in codes]
        )
        out[code] = (
            {"organisatie": org, "producten": mine, "kanalen": chan_parts[k], "enquete": resp},
            part_notes,
        )
    return out


def _old_template_org(profiles: dict[str, _Profile], faults: dict[tuple[str, int], _Fault], last: int) -> str | None:
    """The member that fills in last year's template in the last year (one without a planted fault)."""
    return next(
        (
            c
            for c in sorted(profiles)
            if (c, last) not in faults and c != MISSING_ORG and profiles[c].org.is_member(last)
        ),
        None,
    )


def _template_version(year: int, late_adopter: bool) -> str | None:
    """The template version a demo delivery of ``year`` is made from: the one the registry declares for that
    year; a late adopter still uses the previous year's. ``None``: the current version."""
    reg = registry()
    version = reg.version_for_year(year - 1 if late_adopter else year)
    return None if version.current else version.version


def removed_values(delivery: DemoDelivery) -> dict[str, object]:
    """What a member filled in for the columns its older template still had (old column -> values)."""
    org = delivery.sheets.get("organisatie")
    if delivery.template_version is None or org is None or "kosten_inhuur" not in org.columns:
        return {}
    return {"fte_inhuur": (org["kosten_inhuur"].astype(float) / 120_000).round(1)}


def delivery_sheets(delivery: DemoDelivery) -> dict[str, pd.DataFrame]:
    """The delivery's sheets in the layout of its template version (column codes of that version)."""
    if delivery.template_version is None:
        return delivery.sheets
    return frames_as_version(registry(), delivery.sheets, delivery.template_version, removed_values(delivery))


# ------------------------------------------------------------------ writers

_CP1252_FALLBACK = str.maketrans({"≥": ">=", "≤": "<=", "→": "->", "\u2212": "-", "\u2009": " ", "\u202f": " "})


def to_cp1252(text: str) -> str:
    """``text`` as it survives a cp1252 file: known symbols spelled out, the rest replaced by '?'."""
    return text.translate(_CP1252_FALLBACK).encode("cp1252", errors="replace").decode("cp1252")


def _group(digits: str) -> str:
    sign = "-" if digits.startswith("-") else ""
    digits = digits.lstrip("-")
    parts = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return sign + ".".join(parts)


def format_value(value: Any, style: CsvStyle, cp1252: bool = False) -> str:
    """One cell as Dutch Excel writes it: decimal comma, optional dot thousands, placeholder for empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return style.placeholder
    if isinstance(value, str):
        return to_cp1252(value) if cp1252 else value
    if isinstance(value, (bool, np.bool_)):
        return "ja" if value else "nee"
    if isinstance(value, (int, np.integer, float, np.floating)):
        x = float(value)
        if isinstance(value, (int, np.integer)) or x.is_integer():
            whole, frac = str(int(value) if isinstance(value, (int, np.integer)) else int(x)), ""
        else:
            text = repr(x)
            if "e" in text:
                text = f"{x:.12f}".rstrip("0")
            whole, _, frac = text.partition(".")
        if style.thousands and abs(x) >= 10_000:
            whole = _group(whole)
        return whole + ("," + frac if frac else "")
    return str(value)


def write_csv_folder(
    folder: Path,
    sheets: Mapping[str, pd.DataFrame],
    encoding: str = "utf-8-sig",
    rng_or_style: np.random.Generator | CsvStyle | None = None,
) -> None:
    """Write ``<sheet code>.csv`` per sheet: ';' separator, decimal comma, header = field codes."""
    if isinstance(rng_or_style, np.random.Generator):
        style = CsvStyle.random(rng_or_style)
    else:
        style = rng_or_style or CsvStyle()
    cp1252 = encoding.lower().replace("-", "") in ("cp1252", "windows1252")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for code, frame in sheets.items():
        columns = [[format_value(v, style, cp1252) for v in frame[c].tolist()] for c in frame.columns]
        with (folder / f"{code}.csv").open("w", encoding=encoding, errors="replace", newline="") as fh:
            writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
            writer.writerow([str(c) for c in frame.columns])
            writer.writerows(zip(*columns))


def write_delivery(delivery: DemoDelivery, root: Path) -> Path:
    """Write one delivery under ``root`` (xlsx file or csv folder) and return its path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / delivery.name
    sheets = delivery_sheets(delivery)
    if delivery.fmt == "csv":
        write_csv_folder(target, sheets, delivery.encoding, delivery.csv_style)
    else:
        with pd.ExcelWriter(target, engine="openpyxl") as xw:
            if delivery.template_version is not None:
                stamp = pd.DataFrame([["Registerversie", delivery.template_version]])
                stamp.to_excel(xw, sheet_name="Instructies", index=False, header=False)
            for code, frame in sheets.items():
                frame.to_excel(xw, sheet_name=code, index=False)
    return target
