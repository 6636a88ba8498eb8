-- Calls answered by the organisation's declared definition; the definition is carried as a flag.
SELECT org_code, year, submission_id,
       tel_agent + CASE WHEN tel_definitie = 'AGENT_IVR' THEN coalesce(tel_ivr, 0) ELSE 0 END AS numerator,
       tel_aangeboden AS denominator, tel_aangeboden AS n,
       CASE WHEN tel_definitie = 'AGENT_IVR' THEN 'definitie:AGENT_IVR' END AS flag
FROM int_channels
