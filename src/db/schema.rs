// @generated automatically by Diesel CLI.

diesel::table! {
    connection_tokens (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        connection_id -> Uuid,
        label -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    connections (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        quirk_mode -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    event_deliveries (tenant_id, webhook_id, event_id) {
        tenant_id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Int8,
        subject_id -> Uuid,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    event_outbox (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Int8,
        subject_id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    group_members (tenant_id, group_id, member_id) {
        tenant_id -> Uuid,
        group_id -> Uuid,
        member_id -> Uuid,
        member_type -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    groups (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        connection_id -> Nullable<Uuid>,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        resource -> Jsonb,
        version -> Int8,
        created_at -> Timestamptz,
        last_modified -> Timestamptz,
        parent_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    provisioning_log (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        at -> Timestamptz,
        connection_id -> Uuid,
        request_id -> Text,
        method -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Uuid>,
        operation -> Text,
        status -> Int4,
        scim_type -> Nullable<Text>,
        detail -> Nullable<Text>,
        latency_ms -> Float8,
        rules -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
        member_retention_days -> Int4,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        connection_id -> Nullable<Uuid>,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        email -> Nullable<Text>,
        title -> Nullable<Text>,
        active -> Bool,
        status -> Text,
        password_hash -> Nullable<Text>,
        resource -> Jsonb,
        version -> Int8,
        created_at -> Timestamptz,
        last_modified -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        email_keys -> Array<Nullable<Text>>,
        scrubbed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhooks (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        secret -> Text,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(connections -> tenants (tenant_id));
diesel::joinable!(event_outbox -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(provisioning_log -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(webhooks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    connection_tokens,
    connections,
    event_deliveries,
    event_outbox,
    group_members,
    groups,
    provisioning_log,
    tenants,
    users,
    webhooks,
);
