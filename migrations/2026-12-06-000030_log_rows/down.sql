DROP FUNCTION roster_log_rows(jsonb);
