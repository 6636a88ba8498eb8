SELECT org_code, year, submission_id, ict_personeel + ict_materieel + kosten_inhuur_ict AS numerator,
       fte_totaal AS denominator, fte_totaal AS n
FROM int_org
