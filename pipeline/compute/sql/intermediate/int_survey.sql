-- Survey respondent microdata summarised per organisation, year and item: the sums behind a weighted
-- mean, its design-based (Taylor-linearised) variance and Kish's effective sample size:
-- Σw, Σwy, Σw², Σw²y, Σw²y² (and Σwy², kept for the weighted variance of the answers). For the share of
-- marks ≥ 7 (y ∈ {0, 1}, so y² = y): Σw·[y≥7] and Σw²·[y≥7]. A missing weight counts as 1.
WITH long AS (
    SELECT org_code, year, submission_id, coalesce(weight, 1.0) AS w, item, x
    FROM v_enquete
    UNPIVOT (x FOR item IN (q_overall, q_bereikbaarheid, q_duidelijkheid, q_snelheid, q_bejegening, q_juistheid))
)
SELECT
    org_code, year, submission_id, item,
    count(*)                          AS n,
    sum(w)                            AS sum_w,
    sum(w * w)                        AS sum_w2,
    sum(w * x)                        AS sum_wx,
    sum(w * x * x)                    AS sum_wx2,
    sum(w * w * x)                    AS sum_w2x,
    sum(w * w * x * x)                AS sum_w2x2,
    sum(w * CASE WHEN x >= 7 THEN 1 ELSE 0 END) AS sum_w_ge7,
    sum(w * w * CASE WHEN x >= 7 THEN 1 ELSE 0 END) AS sum_w2_ge7
FROM long
WHERE x IS NOT NULL
GROUP BY org_code, year, submission_id, item
