SELECT org_code, year, submission_id, n_steekproef_correct AS numerator, n_steekproef AS denominator, n_steekproef AS n,
       n_steekproef AS sum_w, n_steekproef AS sum_w2
FROM int_channels
