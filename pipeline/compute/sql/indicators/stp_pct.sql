SELECT org_code, year, submission_id, n_mutaties_stp AS numerator, n_mutaties AS denominator, n_mutaties AS n
FROM int_products
