SELECT org_code, year, submission_id, n_klachten_tijdig AS numerator, n_klachten_afgehandeld AS denominator,
       n_klachten_afgehandeld AS n
FROM int_products
