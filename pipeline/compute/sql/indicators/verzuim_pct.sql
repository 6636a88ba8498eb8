SELECT org_code, year, submission_id, verzuimdagen AS numerator, beschikbare_dagen AS denominator, gem_personeelsleden AS n,
       CASE WHEN incl_zwangerschap = 'ja' THEN 'incl_zwangerschap' END AS flag
FROM int_org
