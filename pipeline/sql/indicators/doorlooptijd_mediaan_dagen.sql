-- Decision-weighted mean of the products' median lead times.
SELECT org_code, year, submission_id, doorlooptijd_gewogen AS numerator, n_besluiten_met_doorlooptijd AS denominator,
       n_besluiten_met_doorlooptijd AS n
FROM int_products
