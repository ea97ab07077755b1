-- A member's DELETE without a transaction of its own (`db::users::remove`): the member is read
-- (with the caller's token check) without a lock, and one statement removes it only if its row
-- is still the version read and no other transaction holds it; otherwise that statement calls
-- this, which fails it (nothing written, the same refusal as migration 000034's) and Roster
-- removes the member again under its lock. Never returns.
CREATE FUNCTION roster_member_changed_since_read(p_member uuid)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'roster: member % changed since it was read', p_member
        USING ERRCODE = 'serialization_failure';
END
$$;
