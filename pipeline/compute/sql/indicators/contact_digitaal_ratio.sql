SELECT org_code, year, submission_id, contacten_digitaal AS numerator, contacten_persoonlijk AS denominator,
       contacten_persoonlijk AS n
FROM int_channels
