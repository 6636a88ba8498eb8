SELECT org_code, year, submission_id, n_bezwaren_ontvangen AS numerator, n_besluiten AS denominator, n_besluiten AS n
FROM int_products
