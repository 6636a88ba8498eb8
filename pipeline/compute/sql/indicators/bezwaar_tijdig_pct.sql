SELECT org_code, year, submission_id, n_bezwaren_tijdig AS numerator, n_bezwaren_afgehandeld AS denominator,
       n_bezwaren_afgehandeld AS n
FROM int_products
