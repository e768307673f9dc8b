-- V3: soft-delete holes.
--
-- 1. A deactivated location is no place: the profiles' copies of their
--    location's country and city (which profile search reads, see V1) are
--    NULL while it is inactive, so such a profile no longer matches a
--    search by country or city, nor counts in `profile_counts` under its
--    country. The writes of the profile itself (INSERT_PROFILE,
--    UPDATE_PROFILE_KEYS in src/store/sqlite/sql.rs) copy an active
--    location's place only; this trigger follows a location as it changes,
--    is deactivated or restored.
DROP TRIGGER locations_place_on_change;
CREATE TRIGGER locations_place_on_change AFTER UPDATE OF country, city, is_active ON locations
    WHEN NEW.country IS NOT OLD.country OR NEW.city IS NOT OLD.city
      OR NEW.is_active IS NOT OLD.is_active
BEGIN
    UPDATE profiles
       SET country = CASE WHEN NEW.is_active = 1 THEN NEW.country END,
           city = CASE WHEN NEW.is_active = 1 THEN NEW.city END
     WHERE location_id = NEW.id;
END;

-- Existing profiles of deactivated locations lose their place
-- (profile_counts_on_update moves their counts to "no country").
UPDATE profiles SET country = NULL, city = NULL
 WHERE country IS NOT NULL
   AND location_id IN (SELECT id FROM locations WHERE is_active = 0);

-- 2. A profile is active only while its owner is: importing an inactive
--    user with a profile, or restoring a profile of an inactive user,
--    could leave an active profile behind (both are refused from V3 on).
--    Such profiles are deactivated with their owner, so that restoring the
--    user restores them too.
UPDATE profiles
   SET is_active = 0,
       deactivated_at = (SELECT IFNULL(u.deactivated_at, u.updated_at) FROM users u
                          WHERE u.id = profiles.user_id),
       updated_at = MAX(updated_at, (SELECT IFNULL(u.deactivated_at, u.updated_at)
                                       FROM users u WHERE u.id = profiles.user_id))
 WHERE is_active = 1
   AND user_id IN (SELECT id FROM users WHERE is_active = 0);
