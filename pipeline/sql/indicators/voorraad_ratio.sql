SELECT org_code, year, submission_id, n_voorraad_eind AS numerator, n_instroom_zaken AS denominator, n_instroom_zaken AS n
FROM int_products
