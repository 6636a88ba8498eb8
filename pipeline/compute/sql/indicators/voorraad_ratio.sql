-- Open cases at year end per case received in the year; case microdata takes precedence.
SELECT p.org_code, p.year, p.submission_id,
       CASE WHEN z.org_code IS NULL THEN p.n_voorraad_eind ELSE z.n_backlog END AS numerator,
       CASE WHEN z.org_code IS NULL THEN p.n_instroom_zaken ELSE z.n_cases END AS denominator,
       CASE WHEN z.org_code IS NULL THEN p.n_instroom_zaken ELSE z.n_cases END AS n,
       CASE WHEN z.org_code IS NOT NULL THEN 'bron:zaken' END AS flag
FROM int_products p LEFT JOIN int_cases z USING (org_code, year, submission_id)
