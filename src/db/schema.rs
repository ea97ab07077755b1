// @generated automatically by Diesel CLI.

diesel::table! {
    admin_tokens (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        label -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        tenant_id -> Nullable<Uuid>,
        id -> Uuid,
        at -> Timestamptz,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        method -> Text,
        route -> Text,
        targets -> Jsonb,
        summary -> Text,
        status -> Int4,
    }
}

diesel::table! {
    categories (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        display_name -> Text,
        kind -> Text,
        allowed_values -> Array<Nullable<Text>>,
        source -> Nullable<Text>,
        created_at -> Timestamptz,
        self_editable -> Bool,
    }
}

diesel::table! {
    connection_tokens (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        connection_id -> Uuid,
        label -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        quirk_mode -> Text,
        settings_version -> Int8,
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
    console_sessions (id) {
        id -> Uuid,
        secret_hash -> Bytea,
        kind -> Text,
        tenant_id -> Nullable<Uuid>,
        admin_token_id -> Nullable<Uuid>,
        setup_link_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    console_setup_links (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
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
        rejected -> Bool,
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
        group_role -> Text,
    }
}

diesel::table! {
    group_role_bindings (tenant_id, group_id, role_name) {
        tenant_id -> Uuid,
        group_id -> Uuid,
        role_name -> Text,
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
        nested -> Bool,
    }
}

diesel::table! {
    join_links (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        kind -> Text,
        token_hash -> Bytea,
        person -> Nullable<Text>,
        email -> Nullable<Text>,
        groups -> Array<Nullable<Uuid>>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        used_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    join_prestored (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        given_name -> Text,
        family_name -> Text,
        personal_id -> Text,
        given_name_key -> Text,
        family_name_key -> Text,
        personal_id_key -> Text,
        groups -> Array<Nullable<Uuid>>,
        categories -> Jsonb,
        created_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    join_requests (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        ticket_hash -> Bytea,
        email -> Nullable<Text>,
        user_name -> Text,
        display_name -> Nullable<Text>,
        registration -> Jsonb,
        state -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        member_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    join_settings (tenant_id) {
        tenant_id -> Uuid,
        invitation_link_enabled -> Bool,
        allowed_domains -> Array<Nullable<Text>>,
        requests_enabled -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    member_counts (tenant_id, shift, bucket, slot) {
        tenant_id -> Uuid,
        shift -> Int2,
        bucket -> Int8,
        slot -> Int2,
        members -> Int8,
    }
}

diesel::table! {
    oauth_access_tokens (tenant_id, token_id) {
        tenant_id -> Uuid,
        token_id -> Uuid,
        client_id -> Text,
    }
}

diesel::table! {
    oauth_assertion_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    oauth_clients (client_id) {
        client_id -> Text,
        tenant_id -> Uuid,
        connection_id -> Uuid,
        secret_hash -> Bytea,
        previous_secret_hash -> Nullable<Bytea>,
        previous_valid_until -> Nullable<Timestamptz>,
        jwks_url -> Nullable<Text>,
        public_key -> Nullable<Text>,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    positions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    provisioning_log (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        at -> Timestamptz,
        connection_id -> Nullable<Uuid>,
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
        source -> Text,
    }
}

diesel::table! {
    roles (tenant_id, name) {
        tenant_id -> Uuid,
        name -> Text,
        name_key -> Text,
        display_name -> Text,
        rank -> Int4,
        grants_admin -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
        member_retention_days -> Int4,
        default_role -> Text,
        sso -> Bool,
        position_source -> Text,
        settings_version -> Int8,
        invite_new_members -> Bool,
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
        base_role -> Nullable<Text>,
        scim_roles -> Array<Nullable<Text>>,
        role_override -> Nullable<Text>,
        effective_role -> Nullable<Text>,
        position_id -> Nullable<Uuid>,
        invitation_count -> Int4,
        last_invited_at -> Nullable<Timestamptz>,
        joined_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        origin -> Text,
        personal_id -> Nullable<Text>,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        secret -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        format -> Text,
        audience -> Nullable<Text>,
        secret_sealed -> Nullable<Bytea>,
        consecutive_failures -> Int4,
        paused_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        last_success_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(admin_tokens -> tenants (tenant_id));
diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(categories -> tenants (tenant_id));
diesel::joinable!(connections -> tenants (tenant_id));
diesel::joinable!(console_sessions -> tenants (tenant_id));
diesel::joinable!(console_setup_links -> tenants (tenant_id));
diesel::joinable!(event_outbox -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(join_links -> tenants (tenant_id));
diesel::joinable!(join_prestored -> tenants (tenant_id));
diesel::joinable!(join_requests -> tenants (tenant_id));
diesel::joinable!(join_settings -> tenants (tenant_id));
diesel::joinable!(member_counts -> tenants (tenant_id));
diesel::joinable!(oauth_access_tokens -> oauth_clients (client_id));
diesel::joinable!(oauth_assertion_jtis -> oauth_clients (client_id));
diesel::joinable!(positions -> tenants (tenant_id));
diesel::joinable!(provisioning_log -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(webhooks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    admin_tokens,
    audit_log,
    categories,
    connection_tokens,
    connections,
    console_sessions,
    console_setup_links,
    event_deliveries,
    event_outbox,
    group_members,
    group_role_bindings,
    groups,
    join_links,
    join_prestored,
    join_requests,
    join_settings,
    member_counts,
    oauth_access_tokens,
    oauth_assertion_jtis,
    oauth_clients,
    positions,
    provisioning_log,
    roles,
    tenants,
    users,
    webhooks,
);
