SELECT org_code, year, submission_id, n_bezwaren_gegrond_totaal AS numerator, n_bezwaren_afgehandeld AS denominator,
       n_bezwaren_afgehandeld AS n
FROM int_products
