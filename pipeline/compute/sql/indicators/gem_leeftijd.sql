SELECT org_code, year, submission_id, gem_leeftijd * gem_personeelsleden AS numerator, gem_personeelsleden AS denominator,
       gem_personeelsleden AS n
FROM int_org
