-- 90th-percentile lead time over all decided cases: only from case microdata.
SELECT org_code, year, submission_id, lead_p90 * n_decided AS numerator, n_decided AS denominator, n_decided AS n,
       'bron:zaken' AS flag
FROM int_cases
