-- V8: each profile carries a copy of its location.
--
-- Reading a profile with its location looked the location up in its own
-- B-tree. At a million users that tree is five levels deep (a WITHOUT
-- ROWID table keeps whole rows in its interior pages), and the lookup
-- cost more than the rest of the profile's row: its two lowest pages are
-- seldom in the CPU's caches. The profile's row now holds the location's
-- columns as well (`location_id` is the location's id), so the read is one
-- row. The location stays its own entity, in its own table: these columns
-- are a copy, written with the profile (INSERT_PROFILE, UPDATE_PROFILE_KEYS
-- in src/store/sqlite/sql.rs) and kept by the triggers below, and no
-- statement writes them otherwise. They are not indexed, so keeping them
-- rewrites a profile's row and nothing else.
--
-- Unlike `country` and `city` (the place profile search matches, NULL
-- while the location is inactive, see V3), the copy is the location as it
-- is, active or not: what the profile's reader is shown.
ALTER TABLE profiles ADD COLUMN location_user_id BLOB;
ALTER TABLE profiles ADD COLUMN location_country TEXT;
ALTER TABLE profiles ADD COLUMN location_state_province TEXT;
ALTER TABLE profiles ADD COLUMN location_city TEXT;
ALTER TABLE profiles ADD COLUMN location_postal_code TEXT;
ALTER TABLE profiles ADD COLUMN location_is_active INTEGER;
ALTER TABLE profiles ADD COLUMN location_created_at INTEGER;
ALTER TABLE profiles ADD COLUMN location_updated_at INTEGER;
ALTER TABLE profiles ADD COLUMN location_deactivated_at INTEGER;

UPDATE profiles
   SET (location_user_id, location_country, location_state_province, location_city,
        location_postal_code, location_is_active, location_created_at,
        location_updated_at, location_deactivated_at) =
       (SELECT user_id, country, state_province, city, postal_code, is_active,
               created_at, updated_at, deactivated_at
          FROM locations WHERE id = profiles.location_id)
 WHERE location_id IS NOT NULL;

-- Every change of a location reaches the copies of the profiles that
-- have it.
CREATE TRIGGER locations_copy_on_change AFTER UPDATE ON locations
BEGIN
    UPDATE profiles
       SET (location_user_id, location_country, location_state_province, location_city,
            location_postal_code, location_is_active, location_created_at,
            location_updated_at, location_deactivated_at) =
           (NEW.user_id, NEW.country, NEW.state_province, NEW.city, NEW.postal_code,
            NEW.is_active, NEW.created_at, NEW.updated_at, NEW.deactivated_at)
     WHERE location_id = NEW.id;
END;

-- A location deleted (with its user) leaves no copy behind: cleared
-- before `ON DELETE SET NULL` forgets which profiles had it.
CREATE TRIGGER locations_copy_on_delete BEFORE DELETE ON locations
BEGIN
    UPDATE profiles
       SET (location_user_id, location_country, location_state_province, location_city,
            location_postal_code, location_is_active, location_created_at,
            location_updated_at, location_deactivated_at) =
           (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
     WHERE location_id = OLD.id;
END;
