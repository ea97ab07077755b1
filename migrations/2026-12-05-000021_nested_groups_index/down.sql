DROP INDEX group_members_nested;
