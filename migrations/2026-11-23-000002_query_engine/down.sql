DROP FUNCTION roster_member_groups(uuid, uuid);
DROP INDEX IF EXISTS users_user_name_trgm;
DROP INDEX groups_display_name_prefix;
DROP INDEX users_user_name_prefix;
DROP INDEX users_email_keys;
ALTER TABLE users DROP COLUMN email_keys;
