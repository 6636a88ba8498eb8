-- Case microdata aggregates per organisation and year (organisation totals of the version in force).
SELECT org_code, year, submission_id, n_rows, n_cases, n_decided, n_on_time, lead_median, lead_p90,
       n_backlog, n_objections, n_complaints
FROM v_zaken_agg
WHERE product_code IS NULL
