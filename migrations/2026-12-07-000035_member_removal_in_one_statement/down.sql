DROP FUNCTION roster_member_changed_since_read(uuid);
