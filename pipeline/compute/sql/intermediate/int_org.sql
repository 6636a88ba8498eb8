-- One row per organisation and year: the organisation sheet of the version in force.
SELECT o.*, s.sha256
FROM v_organisatie o
JOIN submissions s USING (submission_id)
