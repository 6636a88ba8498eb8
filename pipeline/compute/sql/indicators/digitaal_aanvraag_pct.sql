SELECT org_code, year, submission_id, n_aanvragen_digitaal AS numerator, n_aanvragen_totaal AS denominator,
       n_aanvragen_totaal AS n
FROM int_products
