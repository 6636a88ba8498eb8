SELECT org_code, year, submission_id, apparaatskosten_product AS numerator, n_producten AS denominator, n_producten AS n
FROM int_products
