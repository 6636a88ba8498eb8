SELECT org_code, year, submission_id, tel_wachttijd_sec AS numerator, tel_agent AS denominator, tel_agent AS n
FROM int_channels
