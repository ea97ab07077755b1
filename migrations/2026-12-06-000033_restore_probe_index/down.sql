DROP INDEX users_removed_name;
