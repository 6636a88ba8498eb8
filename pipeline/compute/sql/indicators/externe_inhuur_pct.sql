SELECT org_code, year, submission_id, kosten_inhuur AS numerator, loonsom_eigen + kosten_inhuur AS denominator,
       loonsom_eigen + kosten_inhuur AS n
FROM int_org
