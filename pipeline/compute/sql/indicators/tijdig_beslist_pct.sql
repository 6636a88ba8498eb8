-- Decided within term. Case microdata, when submitted, takes precedence over the product aggregates.
SELECT p.org_code, p.year, p.submission_id,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten_tijdig ELSE z.n_on_time END AS numerator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten ELSE z.n_decided END AS denominator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten ELSE z.n_decided END AS n,
       CASE WHEN z.org_code IS NOT NULL THEN 'bron:zaken' END AS flag
FROM int_products p LEFT JOIN int_cases z USING (org_code, year, submission_id)
