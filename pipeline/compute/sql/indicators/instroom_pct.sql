SELECT org_code, year, submission_id, n_instroom_personeel AS numerator, gem_personeelsleden AS denominator,
       gem_personeelsleden AS n
FROM int_org
