SELECT org_code, year, submission_id, ktv_respondenten AS numerator, ktv_uitgenodigd AS denominator, ktv_uitgenodigd AS n
FROM int_org
