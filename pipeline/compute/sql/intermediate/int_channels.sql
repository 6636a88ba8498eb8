-- Channel rows pivoted to one row per organisation and year.
SELECT
    org_code, year, submission_id,
    sum(n_contacten)          FILTER (WHERE kanaal = 'telefoon')             AS tel_aangeboden,
    sum(n_beantwoord_agent)   FILTER (WHERE kanaal = 'telefoon')             AS tel_agent,
    sum(n_ivr_afgehandeld)    FILTER (WHERE kanaal = 'telefoon')             AS tel_ivr,
    sum(sum_wachttijd_sec)    FILTER (WHERE kanaal = 'telefoon')             AS tel_wachttijd_sec,
    max(definitie_code)       FILTER (WHERE kanaal = 'telefoon')             AS tel_definitie,
    sum(n_steekproef)                                                        AS n_steekproef,
    sum(n_steekproef_correct)                                                AS n_steekproef_correct,
    sum(n_contacten)          FILTER (WHERE kanaal IN ('web', 'app'))        AS contacten_digitaal,
    sum(n_contacten)          FILTER (WHERE kanaal IN ('telefoon', 'balie', 'post')) AS contacten_persoonlijk
FROM v_kanalen
GROUP BY org_code, year, submission_id
