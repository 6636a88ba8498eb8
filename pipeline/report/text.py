"""The wording of the reports in Dutch and English, and how values and labels are printed.

Every text of the overview and the organisation reports is declared once in :data:`WORDING` (the analyst review
of the composite index in :data:`REVIEW_WORDING`): a text the two languages share is a plain string, one that
differs is a ``(Dutch, English)`` pair. :data:`TEXT` and :data:`REVIEW_TEXT` hold the per-language dicts the
templates and section builders read (``TEXT["en"]["summary"]``). The figure labels live in
:mod:`pipeline.report.figures`.
"""

from __future__ import annotations

from typing import Any

from pipeline.metadata.registry import CLUSTER_LABELS
from pipeline.report.render import fmt_number

#: The report languages, in the order of the pairs in :data:`WORDING`.
LANGS = ("nl", "en")

WORDING: dict[str, Any] = {
    "overview_title": ("RBB-benchmark {year}: overzicht", "RBB benchmark {year}: overview"),
    "overview_subtitle": (
        "Rijksbrede Benchmarkgroep — benchmarkrapport voor analisten en programmaleiding",
        "Rijksbrede Benchmarkgroep — benchmark report for analysts and programme management",
    ),
    "overview_badge": (
        "Vertrouwelijk — alleen programmaleiding en analisten",
        "Confidential — programme management and analysts only",
    ),
    "org_title": ("RBB-benchmark {year}: {name}", "RBB benchmark {year}: {name}"),
    "org_subtitle": (
        "Rijksbrede Benchmarkgroep — vergelijkingsrapport",
        "Rijksbrede Benchmarkgroep — comparison report",
    ),
    "org_badge": ("Vertrouwelijk — alleen voor {name}", "Confidential — for {name} only"),
    "open_badge": ("Niet geanonimiseerd — alleen voor analisten", "Not anonymised — analysts only"),
    "toc": ("Inhoud", "Contents"),
    "summary": ("Samenvatting", "Summary"),
    "completeness": ("Aanlevering en volledigheid", "Submissions and completeness"),
    "heatmap": ("Kwartielen per organisatie en indicator", "Quartiles per organisation and indicator"),
    "clusters": "Clusters",
    "theme": ("Thema", "Theme"),
    "methodology": ("Methodologie", "Methodology"),
    "composite": ("Samengestelde index en efficiëntie", "Composite index and efficiency"),
    "profile": ("Profiel per thema", "Profile per theme"),
    "sw": ("Sterke punten en aandachtspunten", "Strengths and points for attention"),
    "explanations": ("Uw toelichtingen op gesignaleerde waarden", "Your explanations of flagged values"),
    "reading": ("Leeswijzer", "How to read this report"),
    "strengths": ("Sterke punten", "Strengths"),
    "weaknesses": ("Aandachtspunten", "Points for attention"),
    "no_strengths": ("Geen sterke punten aangewezen.", "No strengths identified."),
    "no_weaknesses": ("Geen aandachtspunten aangewezen.", "No points for attention identified."),
    "members_with_data": ("Leden met geaccepteerde gegevens", "Members with accepted data"),
    "indicators": ("Indicatoren", "Indicators"),
    "years": ("Jaren", "Years"),
    "open_warnings": ("Open waarschuwingen", "Open warnings"),
    "index_position": ("Positie in de index", "Position in the index"),
    "efficiency": ("Efficiëntiescore (DEA)", "Efficiency score (DEA)"),
    "not_available": ("niet beschikbaar", "not available"),
    "organisation": ("Organisatie", "Organisation"),
    "code": "Code",
    "cluster": "Cluster",
    "value": ("Waarde", "Value"),
    "ci": ("95%-BI", "95% CI"),
    "position": ("Positie", "Position"),
    "quartile": ("Kwartiel", "Quartile"),
    "percentile": ("Percentiel", "Percentile"),
    "flags": ("Kenmerken", "Flags"),
    "year": ("Jaar", "Year"),
    "n": "n",
    "mean": ("Gemiddelde", "Mean"),
    "median": ("Mediaan", "Median"),
    "min": "Minimum",
    "max": "Maximum",
    "median_all": ("Mediaan alle leden", "Median of all members"),
    "band_all": ("Middelste helft alle leden", "Middle half of all members"),
    "median_cluster": ("Mediaan cluster", "Cluster median"),
    "band_cluster": ("Middelste helft cluster", "Middle half of cluster"),
    "status": "Status",
    "version": ("Versie", "Version"),
    "errors": ("Fouten", "Errors"),
    "warnings": ("Waarschuwingen", "Warnings"),
    "explained": ("toegelicht", "explained"),
    "with_value": ("Indicatoren met waarde", "Indicators with a value"),
    "feedback": ("Terugkoppeling", "Feedback"),
    "indicator": "Indicator",
    "definition": ("Definitie", "Definition"),
    "formula": ("Berekening", "Calculation"),
    "unit": ("Eenheid", "Unit"),
    "direction": ("Richting", "Direction"),
    "uncertainty": ("Onzekerheid", "Uncertainty"),
    "caveat": ("Kanttekening", "Caveat"),
    "source": ("Bron", "Source"),
    "sheet": ("Blad", "Sheet"),
    "cell": ("Cel", "Cell"),
    "field": ("Veld", "Field"),
    "message": ("Melding", "Message"),
    "explanation": ("Toelichting", "Explanation"),
    "score": "Score",
    "rank": ("Positie", "Position"),
    "node": ("Onderdeel", "Component"),
    "index": "Index",
    "rank_interval": ("Rangorde-interval (5%–95%)", "Rank interval (5%–95%)"),
    "model": "Model",
    "super_efficiency": ("Superefficiëntie", "Super-efficiency"),
    "robust": ("Robuustheid", "Robustness"),
    "units": ("Aantal organisaties in de vergelijking", "Organisations in the comparison"),
    "peers": ("Referentieorganisaties", "Reference organisations"),
    "show_table": ("Toon de gegevens als tabel", "Show the data as a table"),
    "download": "Download CSV",
    "of": ("van", "of"),
    "position_text": ("positie {rank} van {n}", "position {rank} of {n}"),
    "no_rank": ("geen rangorde (contextindicator)", "not ranked (context indicator)"),
    "quartile_text": {
        1: ("kwartiel 1: het beste kwart", "quartile 1: the best quarter"),
        2: ("kwartiel 2", "quartile 2"),
        3: ("kwartiel 3", "quartile 3"),
        4: ("kwartiel 4: het minste kwart", "quartile 4: the worst quarter"),
    },
    "not_published": ("niet gepubliceerd (minder dan {k} leden)", "not published (fewer than {k} members)"),
    "no_value": ("geen waarde", "no value"),
    "directions": {
        "higher": ("hoger is beter", "higher is better"),
        "lower": ("lager is beter", "lower is better"),
        "context": ("context, geen rangorde", "context, not ranked"),
    },
    "uncertainties": {
        "none": ("geen (registratiegegevens, geen steekproef)", "none (administrative data, not a sample)"),
        "t_mean": (
            "95%-betrouwbaarheidsinterval met de t-verdeling; standaardfout volgens de steekproefopzet "
            "(Taylor-linearisatie), vrijheidsgraden: de effectieve steekproefomvang (Kish) min 1",
            "95% confidence interval from the t distribution; standard error following the survey design (Taylor "
            "linearisation), degrees of freedom: the effective sample size (Kish) minus 1",
        ),
        "wilson": (
            "95%-betrouwbaarheidsinterval volgens Wilson; bij een gewogen enquête berekend op de effectieve "
            "steekproefomvang p(1 − p)/v, met v de variantie volgens de steekproefopzet (Taylor-linearisatie)",
            "95% Wilson confidence interval; for a weighted survey computed on the effective sample size p(1 − p)/v, "
            "with v the variance following the survey design (Taylor linearisation)",
        ),
    },
    "significance": {
        "better": (
            "significant beter dan de mediaan van de andere leden",
            "significantly better than the median of the other members",
        ),
        "worse": (
            "significant slechter dan de mediaan van de andere leden",
            "significantly worse than the median of the other members",
        ),
        "not_significant": (
            "geen significant verschil met de mediaan van de andere leden",
            "no significant difference from the median of the other members",
        ),
    },
    "trend": {
        "improving": ("verbetert", "improving"),
        "declining": ("verslechtert", "declining"),
        "stable": ("stabiel", "stable"),
    },
    "trend_text": ("Meerjarige trend: {label}.", "Multi-year trend: {label}."),
    "lineage_note": (
        "{years}: {codes} samen ({event}); open markering, berekend uit hun opgetelde tellers en noemers.",
        "{years}: {codes} together ({event}); open markers, computed from their summed numerators and denominators.",
    ),
    "lineage_merger": ("fusie {year}", "merger {year}"),
    "lineage_rename": ("voorheen {code}, naamswijziging {year}", "formerly {code}, renamed {year}"),
    "lineage_point": ("voorgangers", "predecessors"),
    "flags_text": {
        "indicatief": (
            "indicatief (kleine steekproef of breed interval)",
            "indicative (small sample or wide interval)",
        ),
        "suppressed": ("onderdrukt: te weinig respondenten", "suppressed: too few respondents"),
        "small_n": ("klein aantal waarnemingen", "small number of observations"),
        "definitie:AGENT_IVR": (
            "definitie: inclusief gesprekken afgehandeld in het keuzemenu",
            "definition: includes calls resolved in the voice menu",
        ),
        "incl_zwangerschap": ("inclusief zwangerschapsverlof", "includes pregnancy leave"),
        "bron:zaken": ("berekend uit de aangeleverde zaakgegevens", "computed from the submitted case data"),
        "low_coverage": (
            "niet gepubliceerd: de gebruikte producten dekken te weinig van het geheel",
            "not published: the products used cover too little of the whole",
        ),
        "missing_component": (
            "ontbreekt: een onderdeel is bij minstens één product niet ingevuld",
            "missing: a component is not filled in for at least one product",
        ),
        "nvt": ("niet van toepassing (n.v.t. aangeleverd)", "not applicable (n/a submitted)"),
        "onbekend": ("onbekend (als onbekend aangeleverd)", "unknown (submitted as unknown)"),
        "missing": ("geen waarde", "no value"),
        "zero_denominator": ("noemer is 0", "denominator is 0"),
    },
    "rows_used": (
        "Gebaseerd op {used} van {total} producten",
        "Based on {used} of {total} products",
    ),
    "rows_left": {
        "nvt": ("{n} niet van toepassing", "{n} not applicable"),
        "onbekend": ("{n} onbekend", "{n} unknown"),
        "leeg": ("{n} niet ingevuld", "{n} not filled in"),
    },
    "review": ("Beoordeling", "Review"),
    "review_states": {
        "missing": ("niet ontvangen", "not received"),
        "rejected": ("gecorrigeerde levering nodig", "corrected delivery needed"),
        "findings_open": ("bevindingen open", "findings open"),
        "resolved": ("afgehandeld, nog niet afgetekend", "resolved, not yet signed off"),
        "signed_off": ("afgetekend", "signed off"),
    },
    "states": {
        "accepted": ("Geaccepteerd", "Accepted"),
        "accepted_with_warnings": ("Geaccepteerd, open waarschuwingen", "Accepted, open warnings"),
        "rejected": ("Afgewezen", "Rejected"),
        "missing": ("Niet aangeleverd", "Not submitted"),
    },
    "units_label": {
        "cijfer": ("rapportcijfer", "mark"),
        "%": "%",
        "‰": "‰",
        "dagen": ("dagen", "days"),
        "ratio": "ratio",
        "euro": "euro",
        "per 10.000": ("per 10.000", "per 10,000"),
        "seconden": ("seconden", "seconds"),
        "per medewerker": ("per medewerker", "per employee"),
        "jaar": ("jaar", "years"),
    },
    "source_text": (
        "Aanleveringen van de RBB-leden {years}; berekend door de RBB-pipeline (indicatorwaarden en "
        "benchmarkstatistieken).",
        "Submissions of the RBB members {years}; computed by the RBB pipeline (indicator values and benchmark "
        "statistics).",
    ),
    "own_summary": (
        "Uw waarde {year}: {value} ({position}{quartile}).",
        "Your value {year}: {value} ({position}{quartile}).",
    ),
    "bench_summary": (
        "Mediaan alle leden {median} (middelste helft {p25} tot {p75}, n = {n}).",
        "Median of all members {median} (middle half {p25} to {p75}, n = {n}).",
    ),
    "bench_median_only": (
        "Mediaan alle leden {median} (n = {n}; de middelste helft wordt pas vanaf {k} leden getoond).",
        "Median of all members {median} (n = {n}; the middle half is shown from {k} members).",
    ),
    "bench_hidden": (
        "Geen benchmark getoond: minder dan {k} leden hebben een waarde.",
        "No benchmark shown: fewer than {k} members have a value.",
    ),
    "points_hidden": (
        "{n} waarde(n) gebaseerd op minder dan {floor} waarnemingen staan niet als punt in de figuur (ze tellen wel "
        "mee in de mediaan en de kwartielen).",
        "{n} value(s) based on fewer than {floor} observations are not drawn as points (they do count in the median "
        "and quartiles).",
    ),
    "cluster_summary": ("Mediaan van uw cluster {cluster}: {median}.", "Median of your cluster {cluster}: {median}."),
    "cluster_hidden": (
        "Clusterstatistiek niet getoond: minder dan {k} leden van uw cluster hebben een waarde.",
        "Cluster statistics not shown: fewer than {k} members of your cluster have a value.",
    ),
    "overview_ind_summary": (
        "Waarden van {n} leden in {year}, beste bovenaan; rechts de mediaan en de middelste helft per jaar.",
        "Values of {n} members in {year}, best at the top; right, the median and the middle half per year.",
    ),
    "values_table": ("Waarden per organisatie in {year}", "Values per organisation in {year}"),
    "trend_table": ("Ontwikkeling {first}–{last}", "Development {first}–{last}"),
    "own_table": ("Uw waarden en de benchmark per jaar", "Your values and the benchmark per year"),
    "named_table": ("Alle leden in {year} (niet geanonimiseerd)", "All members in {year} (not anonymised)"),
    "heatmap_summary": (
        "Kwartiel per indicator (rijen) en organisatie (kolommen) in {year}; 1 = beste kwart. Contextindicatoren "
        "hebben geen kwartiel en ontbreken.",
        "Quartile per indicator (rows) and organisation (columns) in {year}; 1 = best quarter. Context indicators "
        "have no quartile and are left out.",
    ),
    "heatmap_table": ("Kwartiel per organisatie en indicator", "Quartile per organisation and indicator"),
    "clusters_summary": (
        "Gepubliceerde clustermedianen als percentage van de mediaan van alle leden (100 = gelijk). Clusters met "
        "minder dan {k} waarden zijn niet gepubliceerd.",
        "Published cluster medians as a percentage of the median of all members (100 = equal). Clusters with fewer "
        "than {k} values are not published.",
    ),
    "clusters_table": ("Clusterstatistieken {year}", "Cluster statistics {year}"),
    "completeness_summary": (
        "Aandeel van de {n} catalogusindicatoren met een waarde per organisatie, gekleurd naar de status van de "
        "aanlevering.",
        "Share of the {n} catalogue indicators with a value per organisation, coloured by submission status.",
    ),
    "completeness_table": ("Status en volledigheid per organisatie", "Status and completeness per organisation"),
    "profile_summary": (
        "Percentiel per indicator (100 = beste) gegroepeerd per thema; de balk is het gemiddelde percentiel van het "
        "thema.",
        "Percentile per indicator (100 = best) grouped by theme; the bar is the theme's mean percentile.",
    ),
    "profile_table": ("Percentiel en kwartiel per indicator", "Percentile and quartile per indicator"),
    "rank_summary": (
        "Uw positie in de samengestelde index: {rank} van {n}; bij andere gewichten en methoden ligt die tussen {lo} "
        "en {hi}.",
        "Your position in the composite index: {rank} of {n}; with other weights and methods it lies between {lo} "
        "and {hi}.",
    ),
    "rank_table": ("Scores per onderdeel van de index", "Scores per component of the index"),
    "dea_hidden": (
        "Efficiëntiescore niet getoond: te weinig organisaties in de vergelijking (minstens {k}, en voor een "
        "betrouwbare score minstens drie per gebruikte grootheid; zie de methode).",
        "Efficiency score not shown: too few organisations in the comparison (at least {k}, and for a reliable score "
        "at least three per quantity used; see the method).",
    ),
    "no_composite": (
        "De samengestelde index is voor dit jaar niet berekend.",
        "The composite index was not computed for this year.",
    ),
    "no_dea": (
        "De efficiëntieanalyse (DEA) is voor dit jaar niet berekend.",
        "The efficiency analysis (DEA) was not computed for this year.",
    ),
    "no_explanations": (
        "Er zijn geen toegelichte bevindingen voor dit jaar.",
        "There are no explained findings for this year.",
    ),
    "open_findings": ("Bevindingen zonder toelichting: {n}.", "Findings without an explanation: {n}."),
    "composite_table": ("Samengestelde index {year}", "Composite index {year}"),
    "dea_table": ("Efficiëntie (DEA) {year}", "Efficiency (DEA) {year}"),
    "methodology_intro": (
        "Alle indicatoren worden door de pipeline berekend uit de aangeleverde brongegevens (teller / noemer × "
        "schaal). Kwartielen en posities houden rekening met de richting van de indicator; contextindicatoren "
        "krijgen geen positie. Clusterstatistieken worden alleen gepubliceerd als ten minste {k} leden van het "
        "cluster een waarde hebben.",
        "The pipeline computes every indicator from the submitted source data (numerator / denominator × scale). "
        "Quartiles and positions take the indicator's direction into account; context indicators are not ranked. "
        "Cluster statistics are published only when at least {k} members of the cluster have a value.",
    ),
    "methodology_survey": (
        "Enquêtecijfers zijn gewogen; het betrouwbaarheidsinterval en de toetsen houden rekening met de weging, "
        "via de standaardfout en de effectieve steekproefomvang. Een waarde met een effectieve steekproefomvang "
        "onder {suppress} wordt niet getoond; onder {indicative}, of bij een rapportcijfer met een interval breder "
        "dan ±{halfwidth} punt, is de waarde indicatief. De toets of een waarde significant afwijkt van de mediaan "
        "van de andere leden, wordt per organisatie gecorrigeerd voor het aantal toetsen (Benjamini–Hochberg).",
        "Survey figures are weighted; the confidence interval and the tests take the weighting into account, through "
        "the standard error and the effective sample size. A value with an effective sample size below {suppress} "
        "is not shown; below {indicative}, or for a mark with an interval wider than ±{halfwidth} points, the value "
        "is indicative. The test of whether a value differs significantly from the median of the other members is "
        "corrected per organisation for the number of tests (Benjamini–Hochberg).",
    ),
    "methodology_cases": (
        "Levert een organisatie zaakgegevens aan (één regel per zaak), dan worden tijdigheid, doorlooptijden, "
        "werkvoorraad en bezwaren daaruit berekend in plaats van uit de producttotalen; die waarden hebben het "
        "kenmerk ‘berekend uit de aangeleverde zaakgegevens’. Percentielen van doorlooptijden worden lineair "
        "geïnterpoleerd.",
        "Where an organisation submits case data (one row per case), timeliness, lead times, backlog and "
        "objections are computed from them instead of from the product totals; those values carry the flag "
        "‘computed from the submitted case data’. Percentiles of lead times use linear interpolation.",
    ),
    "reading_text": (
        "Dit rapport is vertrouwelijk en alleen bestemd voor {name}. Andere leden zijn anoniem: zij verschijnen "
        "alleen als naamloze punten in de figuren. Extern mag u alleen uw eigen cijfers en de benchmarkgemiddelden "
        "(mediaan, kwartielen) overnemen. Clustercijfers staan er alleen als ten minste {k} leden van het cluster "
        "een waarde hebben.",
        "This report is confidential and meant for {name} only. Other members are anonymous: they appear only as "
        "unlabeled points in the figures. Externally you may quote only your own figures and the benchmark averages "
        "(median, quartiles). Cluster figures are shown only when at least {k} members of the cluster have a value.",
    ),
    "figure_note": (
        "Elke figuur heeft de gegevens ook als tabel en als CSV-bestand.",
        "Every figure also has its data as a table and as a CSV file.",
    ),
    "data_as_of": (
        "Gegevens: aanleveringen ontvangen tot en met {date}.",
        "Data: submissions received up to and including {date}.",
    ),
    "no_data_for": ("geen gegevens voor {year}", "no data for {year}"),
    "standing": ("Uw aanlevering {year}", "Your submission {year}"),
    "standing_missing": (
        "Voor {year} is geen aanlevering van {name} ontvangen. Dit rapport bevat daarom geen eigen waarden over "
        "{year}: u ziet de benchmark van de andere leden en uw eigen waarden uit eerdere jaren.",
        "No submission of {name} for {year} has been received. This report therefore holds no own values for "
        "{year}: you see the benchmark of the other members and your own values of earlier years.",
    ),
    "standing_rejected": (
        "Uw laatste aanlevering over {year} (versie {version}, ontvangen op {date}) is afgewezen met {errors}. "
        "Dit rapport bevat daarom geen eigen waarden over {year}: u ziet de benchmark van de andere leden en uw "
        "eigen waarden uit eerdere jaren.",
        "Your latest submission for {year} (version {version}, received on {date}) was rejected with {errors}. "
        "This report therefore holds no own values for {year}: you see the benchmark of the other members and your "
        "own values of earlier years.",
    ),
    "n_errors": {1: ("1 fout", "1 error"), "n": ("{n} fouten", "{n} errors")},
    "todo_missing": (
        "Wat te doen: vul het RBB-aanleversjabloon over {year} in en lever het aan. Daarna krijgt u een volledig "
        "vergelijkingsrapport met uw eigen waarden.",
        "What to do: fill in the RBB submission template for {year} and deliver it. You will then receive a full "
        "comparison report with your own values.",
    ),
    "todo_rejected": (
        "Wat te doen: herstel de fouten hieronder en lever een gecorrigeerd bestand aan. Daarna krijgt u een "
        "volledig vergelijkingsrapport met uw eigen waarden.",
        "What to do: fix the errors below and deliver a corrected file. You will then receive a full comparison "
        "report with your own values.",
    ),
    "due_ahead_missing": ("Lever vóór {date} uw bestand aan.", "Deliver your file before {date}."),
    "due_ahead_rejected": (
        "Lever vóór {date} een gecorrigeerd bestand aan.",
        "Deliver a corrected file before {date}.",
    ),
    "due_passed": (
        "De termijn is verstreken op {date}; neem contact op met het secretariaat van de RBB als u nog wilt "
        "aanleveren.",
        "The deadline passed on {date}; contact the RBB secretariat if you still want to deliver.",
    ),
    "fix_title": ("Wat u moet herstellen", "What to fix"),
    "fix_table": ("Fouten in versie {version}", "Errors in version {version}"),
    "fix_more": (
        "Hier staan de eerste {shown} van de {n} fouten.",
        "These are the first {shown} of the {n} errors.",
    ),
    "fix_feedback": (
        "Alle bevindingen en hoe u ze herstelt staan op uw terugkoppelingspagina:",
        "All findings and how to fix them are on your feedback page:",
    ),
    "fix_feedback_link": ("terugkoppeling bij versie {version}", "feedback on version {version}"),
    "earlier_title": ("Uw waarden uit eerdere jaren", "Your values of earlier years"),
    "earlier_summary": (
        "Uw geaccepteerde waarden uit eerdere jaren ({years}); over {year} zijn er geen gegevens. Bij elke indicator "
        "staan ze ook als lijn in de trend.",
        "Your accepted values of earlier years ({years}); there is no data for {year}. They are also drawn as a "
        "line in the trend of each indicator.",
    ),
    "earlier_none": (
        "Er zijn geen geaccepteerde waarden van u uit eerdere jaren; over {year} zijn er geen gegevens.",
        "There are no accepted values of yours from earlier years; there is no data for {year}.",
    ),
    "earlier_table": ("Uw waarden per indicator in eerdere jaren", "Your values per indicator in earlier years"),
    "no_own_value": ("Geen eigen waarde: geen gegevens voor {year}.", "No own value: no data for {year}."),
    "no_data_profile": ("Geen profiel: geen gegevens voor {year}.", "No profile: no data for {year}."),
    "no_data_sw": ("Niet bepaald: geen gegevens voor {year}.", "Not determined: no data for {year}."),
    "no_data_composite": (
        "Geen positie in de index: geen gegevens voor {year}.",
        "No position in the index: no data for {year}.",
    ),
    "no_data_dea": ("Geen efficiëntiescore: geen gegevens voor {year}.", "No efficiency score: no data for {year}."),
    "provenance_none": (
        "Dit rapport bevat geen eigen gegevens van {org} over {year}; de benchmark is gebaseerd op de geldende "
        "aanleveringen van de andere leden in dit datapakhuis.",
        "This report holds no own data of {org} for {year}; the benchmark is based on the other members' "
        "submissions in force in this warehouse.",
    ),
    "report": ("Rapport", "Report"),
    "report_full": ("rapport", "report"),
    "report_no_data": ("rapport zonder eigen gegevens", "report without own data"),
    "reports_without_data": ("Rapporten zonder eigen gegevens", "Reports without own data"),
    "meta_completeness": (
        "Registratie van de ontvangen aanleveringen en hun validatie (rbb ingest).",
        "Register of the submissions received and their validation (rbb ingest).",
    ),
    "meta_heatmap": (
        "Kwartiel van de organisatie onder alle leden met een waarde; de richting van de indicator bepaalt wat het "
        "beste kwart is.",
        "The organisation's quartile among all members with a value; the indicator's direction decides which quarter "
        "is best.",
    ),
    "meta_clusters": (
        "Mediaan van het cluster gedeeld door de mediaan van alle leden, × 100.",
        "Cluster median divided by the median of all members, × 100.",
    ),
    "meta_clusters_caveat": (
        "Clusters verschillen in primair proces; vergelijk binnen een indicator, niet tussen indicatoren.",
        "Clusters differ in primary process; compare within an indicator, not across indicators.",
    ),
    "meta_profile": (
        "Percentiel: de plaats van uw waarde onder alle leden (100 = beste, 0 = minste); alleen indicatoren met een "
        "richting.",
        "Percentile: where your value lies among all members (100 = best, 0 = worst); only indicators with a "
        "direction.",
    ),
    "meta_composite": (
        "Samengestelde index volgens de methode van het JRC/OECD-handboek; het rangorde-interval komt uit een "
        "Monte-Carlo-analyse van gewichten, normalisatie en aggregatie (5e–95e percentiel).",
        "Composite index following the JRC/OECD handbook; the rank interval comes from a Monte Carlo analysis of "
        "weights, normalisation and aggregation (5th–95th percentile).",
    ),
}


REVIEW_WORDING: dict[str, Any] = {
    "title": ("Hoe robuust is de index?", "How robust is the index?"),
    "factors": {
        "weights": ("Gewichten", "Weights"),
        "normalisation": ("Normalisatie", "Normalisation"),
        "aggregation": ("Aggregatie", "Aggregation"),
        "imputation": ("Imputatie", "Imputation"),
        "indicator_error": ("Meetonzekerheid", "Measurement error"),
    },
    "sens_title": ("Wat bepaalt de positie in de index", "What drives the position in the index"),
    "sens_caption": (
        "Per organisatie het aandeel van de variatie in haar positie in de index dat elke methodekeuze verklaart, "
        "inclusief samenspel met de andere keuzes (totale Sobol-index, 0 tot 1). Een donkere cel: die keuze "
        "verschuift de positie het meest. Schattingen hebben een onnauwkeurigheid van ongeveer ±{err}; lees waarden "
        "onder 0,1 als ‘vrijwel geen’.",
        "Per organisation, the share of the variation in its position in the index that each choice of method "
        "explains, interactions with the other choices included (total Sobol index, 0 to 1). A dark cell: that "
        "choice moves the position most. Estimates are uncertain by about ±{err}; read values below 0.1 as 'hardly "
        "any'.",
    ),
    "sens_table": (
        "Gevoeligheid van de positie per organisatie {year}",
        "Sensitivity of the position per organisation {year}",
    ),
    "colorbar": ("Aandeel", "Share"),
    "main": ("Grootste invloed", "Largest influence"),
    "rank_interval": ("Positie-interval (5–95 %)", "Rank interval (5–95%)"),
    "corr_table": (
        "Indicatoren die elkaar overlappen of tegenspreken {year}",
        "Indicators that overlap or contradict each other {year}",
    ),
    "corr_none": (
        "Geen paren met |r| > 0,9 en geen tegenstrijdige indicatoren binnen een thema.",
        "No pairs with |r| > 0.9 and no contradicting indicators within a theme.",
    ),
    "pair": ("Paar", "Pair"),
    "kind": ("Soort", "Kind"),
    "redundant": ("overlappend (|r| > 0,9)", "overlapping (|r| > 0.9)"),
    "contradicting": ("tegenstrijdig binnen het thema", "contradicting within the theme"),
    "n": ("Leden", "Members"),
    "alpha_table": ("Samenhang per thema (Cronbachs alfa) {year}", "Consistency per theme (Cronbach's alpha) {year}"),
    "theme": ("Thema", "Theme"),
    "alpha": ("Alfa", "Alpha"),
    "n_ind": ("Indicatoren", "Indicators"),
    "log_table": ("Geïmputeerde en behandelde waarden {year}", "Imputed and treated values {year}"),
    "value": ("Waarde", "Value"),
    "used": ("Gebruikt", "Used"),
    "how": ("Bewerking", "Treatment"),
    "imputed_cluster": ("geïmputeerd: clustergemiddelde", "imputed: cluster mean"),
    "imputed_all": ("geïmputeerd: gemiddelde van alle leden", "imputed: mean of all members"),
    "winsorised_high": ("afgetopt (hoog)", "capped (high)"),
    "winsorised_low": ("afgetopt (laag)", "capped (low)"),
    "log": ("logaritmisch getransformeerd", "log-transformed"),
    "log_none": ("Geen waarden geïmputeerd of behandeld.", "No values imputed or treated."),
}


def in_language(wording: Any, lang: str) -> Any:
    """One language's version of a wording entry: a pair gives its ``lang`` part, a dict each of its entries,
    anything else (a text both languages share) itself."""
    if isinstance(wording, tuple):
        if len(wording) != len(LANGS):
            raise ValueError(f"a wording pair needs one text per language {LANGS}: {wording!r}")
        return wording[LANGS.index(lang)]
    if isinstance(wording, dict):
        return {key: in_language(value, lang) for key, value in wording.items()}
    return wording


TEXT: dict[str, dict[str, Any]] = {lang: in_language(WORDING, lang) for lang in LANGS}
REVIEW_TEXT: dict[str, dict[str, Any]] = {lang: in_language(REVIEW_WORDING, lang) for lang in LANGS}


# ----------------------------------------------------------------------------------------- formatting


def unit_label(ind: dict[str, Any], lang: str) -> str:
    """The indicator's unit in the report language."""
    unit = ind.get("unit") or ""
    return TEXT[lang]["units_label"].get(unit, unit)


def format_value(value: Any, ind: dict[str, Any], lang: str, with_unit: bool = False) -> str:
    """An indicator value as the reports print it: the catalogue's decimals, nl-NL or en separators."""
    text = fmt_number(value, ind["decimals"], lang)
    if not with_unit or text == "—":
        return text
    unit = ind.get("unit") or ""
    if unit == "euro":
        return f"€ {text}"
    if unit in ("%", "‰"):
        return f"{text}{unit}"
    if unit in ("cijfer", "ratio"):
        return text
    return f"{text} {unit_label(ind, lang)}"


def ci_text(row: dict[str, Any] | None, ind: dict[str, Any], lang: str) -> str:
    """A row's confidence interval as "low – high", or a dash."""
    if not row or row.get("ci_low") is None or row.get("ci_high") is None:
        return "—"
    return f"{format_value(row['ci_low'], ind, lang)} – {format_value(row['ci_high'], ind, lang)}"


def band_text(p25: Any, p75: Any, ind: dict[str, Any], lang: str) -> str:
    """The p25–p75 band as "p25 – p75", or a dash."""
    if p25 is None or p75 is None:
        return "—"
    return f"{format_value(p25, ind, lang)} – {format_value(p75, ind, lang)}"


def position_text(comp: dict[str, Any] | None, lang: str) -> str:
    """ "position 3 of 29", or the note that a context indicator has no rank."""
    t = TEXT[lang]
    if not comp or comp.get("rank") is None:
        return t["no_rank"]
    return t["position_text"].format(rank=int(comp["rank"]), n=int(comp["n_orgs"]))


def flags_text(flags: str | None, lang: str) -> str:
    """The ``;``-separated flags of a value in words."""
    if not flags:
        return ""
    known = TEXT[lang]["flags_text"]
    return "; ".join(known.get(f, f) for f in flags.split(";") if f)


def rows_text(own: dict[str, Any] | None, lang: str) -> str:
    """'Gebaseerd op 7 van 41 producten; 34 niet van toepassing.' when rows were left out, else ''."""
    if not own:
        return ""
    total, used, left = own.get("rows_total"), own.get("rows_used"), own.get("rows_left_out")
    if total is None or used is None or not left or total != total or left != left:
        return ""
    t = TEXT[lang]
    parts = [t["rows_used"].format(used=int(used), total=int(total))]
    for item in str(own.get("left_out") or "").split(";"):
        reason, _, n = item.partition(":")
        if reason in t["rows_left"] and n.isdigit():
            parts.append(t["rows_left"][reason].format(n=int(n)))
    return "; ".join(parts) + "."


def org_label(org: dict[str, Any]) -> str:
    """The short label of an organisation: its abbreviation, else its code."""
    return org.get("abbreviation") or org["org_code"]


def cluster_label(code: str | None, lang: str) -> str:
    """A cluster's name in the report language, or a dash."""
    if not code:
        return "—"
    return CLUSTER_LABELS[lang].get(code, code)


def ind_name(ind: dict[str, Any], lang: str) -> str:
    """An indicator's name in the report language, else its code."""
    return ind.get(f"name_{lang}") or ind["code"]


def ind_text(ind: dict[str, Any], key: str, lang: str) -> str:
    """An indicator's ``description``, ``formula`` or ``caveat`` in the report language (``description_nl``,
    ...), empty when the catalogue has none."""
    return str(ind.get(f"{key}_{lang}") or "")


def formula(ind: dict[str, Any], lang: str) -> str:
    """The calculation in words in the report language, or a dash. (The field-code form, numerator and
    denominator, stays in the catalogue, its CSV download and docs/indicators.md.)"""
    return ind_text(ind, "formula", lang) or "—"


def ind_meta(ind: dict[str, Any], lang: str, period: str) -> list[tuple[str, str]]:
    """The definition list under an indicator's figure; ``period`` is the years the source covers."""
    t = TEXT[lang]
    meta = [
        (t["definition"], ind_text(ind, "description", lang) or "—"),
        (t["formula"], formula(ind, lang)),
        (t["unit"], unit_label(ind, lang) + f" · {t['directions'].get(ind.get('direction'), '')}"),
    ]
    if ind_text(ind, "caveat", lang):
        meta.append((t["caveat"], ind_text(ind, "caveat", lang)))
    meta.append((t["source"], t["source_text"].format(years=period)))
    return meta


def years_text(years: list[int]) -> str:
    """ "2021–2025", or the one year."""
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


def day_text(day: Any, lang: str) -> str:
    """A date as the reports print it: 15-03-2026 (Dutch) or 2026-03-15 (English)."""
    return day.strftime("%d-%m-%Y") if lang == "nl" else day.strftime("%Y-%m-%d")


def date_text(last: Any, lang: str) -> str:
    """ "Data: submissions received up to and including <date>", empty without a date."""
    if last is None:
        return ""
    return TEXT[lang]["data_as_of"].format(date=day_text(last, lang))


def errors_text(n: int, lang: str) -> str:
    """ "1 fout", "3 fouten" ("1 error", "3 errors")."""
    words = TEXT[lang]["n_errors"]
    return words[1] if n == 1 else words["n"].format(n=n)
