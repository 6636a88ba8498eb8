-- Weighted share of respondents with an overall mark of 7 or higher.
SELECT org_code, year, submission_id, sum_w_ge7 AS numerator, sum_w AS denominator, n, sum_w, sum_w2, NULL AS sum_wx2
FROM int_survey WHERE item = 'q_overall'
