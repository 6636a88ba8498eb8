-- Weighted mean overall mark.
SELECT org_code, year, submission_id, sum_wx AS numerator, sum_w AS denominator, n, sum_w, sum_w2, sum_wx2,
       sum_w2x, sum_w2x2
FROM int_survey WHERE item = 'q_overall'
