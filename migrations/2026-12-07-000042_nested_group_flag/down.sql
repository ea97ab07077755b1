DROP TRIGGER group_members_nested ON group_members;
DROP FUNCTION roster_group_nested();
ALTER TABLE groups DROP COLUMN nested;
