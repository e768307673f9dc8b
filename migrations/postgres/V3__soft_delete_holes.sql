-- V3: soft-delete holes.
--
-- A deactivated location is no place: profile search joins only active
-- locations (PROFILES_WITH_LOCATION in src/store/postgres/sql.rs), which
-- needs no schema change here (SQLite keeps copies of the place on its
-- profiles and changes its triggers in its V3).
--
-- A profile is active only while its owner is: importing an inactive user
-- with a profile, or restoring a profile of an inactive user, could leave
-- an active profile behind (both are refused from V3 on). Such profiles are
-- deactivated with their owner, so that restoring the user restores them
-- too.
UPDATE profiles p
   SET is_active = false,
       deactivated_at = COALESCE(u.deactivated_at, u.updated_at),
       updated_at = GREATEST(p.updated_at, COALESCE(u.deactivated_at, u.updated_at))
  FROM users u
 WHERE u.id = p.user_id AND NOT u.is_active AND p.is_active;
