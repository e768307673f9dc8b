-- V7: two indexes keep only the rows a query can look for, so the writes
-- that never match them (most of them) leave them alone.

-- Events are looked up by actor only to anonymize the actor's own
-- (`WHERE actor_id = $1`). Most events have none (the system acted, or
-- the user on their own account), and each of those was an index entry
-- written for nothing: a login, a refresh, a new user.
DROP INDEX security_events_actor;
CREATE INDEX security_events_actor ON security_events (actor_id)
    WHERE actor_id IS NOT NULL;

-- A profile search by industry matches a value
-- (`lower(industry) = lower($1)`): a job without an industry cannot match.
DROP INDEX jobs_industry;
CREATE INDEX jobs_industry ON jobs (lower(industry), profile_id)
    WHERE is_active AND lower(industry) IS NOT NULL;
