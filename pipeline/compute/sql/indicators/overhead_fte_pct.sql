SELECT org_code, year, submission_id,
       fte_overhead_management + fte_overhead_po + fte_overhead_fc + fte_overhead_ict
         + fte_overhead_communicatie + fte_overhead_facilitair + fte_overhead_juridisch AS numerator,
       fte_totaal AS denominator, fte_totaal AS n
FROM int_org
