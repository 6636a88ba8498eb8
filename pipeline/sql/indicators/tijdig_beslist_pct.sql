SELECT org_code, year, submission_id, n_besluiten_tijdig AS numerator, n_besluiten AS denominator, n_besluiten AS n
FROM int_products
