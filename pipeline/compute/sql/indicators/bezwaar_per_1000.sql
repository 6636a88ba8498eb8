-- Objections per 1,000 decisions; case microdata (objections following decided cases) takes precedence.
SELECT p.org_code, p.year, p.submission_id,
       CASE WHEN z.org_code IS NULL THEN p.n_bezwaren_ontvangen ELSE z.n_objections END AS numerator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten ELSE z.n_decided END AS denominator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten ELSE z.n_decided END AS n,
       CASE WHEN z.org_code IS NOT NULL THEN 'bron:zaken' END AS flag
FROM int_products p LEFT JOIN int_cases z USING (org_code, year, submission_id)
