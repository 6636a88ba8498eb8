-- Median lead time. From case microdata: the median over all decided cases of the organisation
-- (numerator = median × decisions, so value = the median). Otherwise the decision-weighted mean of the
-- products' medians.
SELECT p.org_code, p.year, p.submission_id,
       CASE WHEN z.org_code IS NULL THEN p.doorlooptijd_gewogen ELSE z.lead_median * z.n_decided END AS numerator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten_met_doorlooptijd ELSE z.n_decided END AS denominator,
       CASE WHEN z.org_code IS NULL THEN p.n_besluiten_met_doorlooptijd ELSE z.n_decided END AS n,
       CASE WHEN z.org_code IS NOT NULL THEN 'bron:zaken' END AS flag
FROM int_products p LEFT JOIN int_cases z USING (org_code, year, submission_id)
