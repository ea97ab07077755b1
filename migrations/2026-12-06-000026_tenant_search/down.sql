DROP FUNCTION roster_user_ids_by_name(uuid, text);
DROP FUNCTION roster_user_ids_by_email(uuid, text[]);
DROP FUNCTION roster_scope_admits(uuid);
