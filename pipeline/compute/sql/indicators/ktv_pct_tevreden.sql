-- Weighted share of respondents with an overall mark of 7 or higher.
SELECT org_code, year, submission_id, sum_w_ge7 AS numerator, sum_w AS denominator, n, sum_w, sum_w2, NULL AS sum_wx2,
       sum_w2_ge7 AS sum_w2x, sum_w2_ge7 AS sum_w2x2
FROM int_survey WHERE item = 'q_overall'
