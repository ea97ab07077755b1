-- The restore probe of a SCIM create (`db::users::restorable`, issue #10): the most recently
-- removed, unscrubbed member with the userName being created. Its only index was `users_removed`
-- (tenant_id, removed_at), which it read backward through every removed member of the tenant,
-- filtering on user_name_key: a create cost O(removed members), and a tenant that has just
-- deprovisioned 100,000 people has that many. Keyed by the userName the probe is one descent.
-- Partial: only removed rows are in it, so creating and updating live members never touch it.
-- (By externalId the probe already descends `users_external_id`.)
CREATE INDEX users_removed_name ON users (tenant_id, user_name_key, removed_at)
    WHERE status = 'removed' AND scrubbed_at IS NULL;
