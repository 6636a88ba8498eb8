SELECT org_code, year, submission_id, apparaatskosten_totaal AS numerator, n_klanten_actief AS denominator,
       n_klanten_actief AS n
FROM int_org
