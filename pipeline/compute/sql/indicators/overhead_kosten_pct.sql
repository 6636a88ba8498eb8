SELECT org_code, year, submission_id, kosten_overhead AS numerator, apparaatskosten_totaal AS denominator,
       apparaatskosten_totaal AS n
FROM int_org
