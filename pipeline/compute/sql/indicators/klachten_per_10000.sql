SELECT p.org_code, p.year, p.submission_id, p.n_klachten AS numerator, o.n_klanten_actief AS denominator,
       o.n_klanten_actief AS n
FROM int_products p JOIN int_org o USING (org_code, year, submission_id)
