SELECT org_code, year, submission_id, n_leeftijd_55plus AS numerator,
       n_leeftijd_tot35 + n_leeftijd_35_54 + n_leeftijd_55plus AS denominator,
       n_leeftijd_tot35 + n_leeftijd_35_54 + n_leeftijd_55plus AS n
FROM int_org
