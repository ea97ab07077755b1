//! Row-level security (migration 000024): defence in depth under Roster's own `tenant_id`
//! predicates. A query that forgets its predicate sees and changes nothing of another tenant's.

use diesel::sql_types::{BigInt, Bool, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use roster::db::{self, Scope};
use uuid::Uuid;

use crate::support::requests::send;
use crate::support::TestApp;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Every table that holds tenants' rows: those with a `tenant_id` column, and `tenants`.
async fn tenant_tables(conn: &mut db::Conn) -> Vec<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
           AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a \
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) \
         ORDER BY 1",
    )
    .load(conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

async fn count(conn: &mut db::Conn, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

async fn tenant_id(app: &TestApp, slug: &str) -> Uuid {
    let mut conn = db::checkout(&app.pool, Scope::All).await.unwrap();
    roster::db::tenants::tenant_by_slug(&mut conn, slug).await.unwrap().unwrap().id
}

#[tokio::test]
async fn every_tenant_table_is_under_row_security_with_the_tenant_and_service_policies() {
    let app = TestApp::spawn().await;
    let mut conn = db::checkout(&app.pool, Scope::All).await.unwrap();
    let tables = tenant_tables(&mut conn).await;
    // The directory, the log, the events and the credentials are all among them.
    for expected in
        ["users", "groups", "group_members", "provisioning_log", "event_outbox", "connection_tokens"]
    {
        assert!(tables.iter().any(|t| t == expected), "{expected} missing from {tables:?}");
    }
    let unprotected: Vec<Name> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relname = ANY ($1) \
           AND NOT (c.relrowsecurity \
                AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation' \
                            AND p.polroles = ARRAY['roster_tenant'::regrole::oid]) \
                AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'service' \
                            AND p.polroles = ARRAY['roster_service'::regrole::oid]))",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&tables)
    .load(&mut conn)
    .await
    .unwrap();
    let unprotected: Vec<String> = unprotected.into_iter().map(|r| r.name).collect();
    assert!(unprotected.is_empty(), "tables without row security and its two policies: {unprotected:?}");
}

#[tokio::test]
async fn pooled_connections_act_as_roles_that_row_security_binds() {
    let app = TestApp::spawn().await;
    let acme = tenant_id(&app, "acme").await;
    #[derive(QueryableByName)]
    struct Role {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Bool)]
        bypasses: bool,
    }
    for (scope, expected) in [(Scope::All, "roster_service"), (Scope::Tenant(acme), "roster_tenant")] {
        let mut conn = db::checkout(&app.pool, scope).await.unwrap();
        let role: Role = diesel::sql_query(
            "SELECT current_user::text AS name, (rolsuper OR rolbypassrls) AS bypasses \
             FROM pg_roles WHERE rolname = current_user",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(role.name, expected);
        assert!(!role.bypasses, "the pool's roles must not bypass row security");
    }
}

#[tokio::test]
async fn an_unscoped_query_sees_only_the_connections_tenant() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let alice = app.create_user("alice@acme.example").await;
    app.create_group("Acme staff", &[&alice]).await;
    let created = send(app.req_as(&other, Method::POST, "/Users").json(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bob@globex.example",
        "emails": [{"value": "bob@globex.example", "type": "work"}]
    })))
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let bob = created.body["id"].as_str().unwrap().to_string();
    let group = send(app.req_as(&other, Method::POST, "/Groups").json(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Globex staff",
        "members": [{"value": bob}]
    })))
    .await;
    assert_eq!(group.status.as_u16(), 201, "{}", group.body);
    app.flush_log().await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;

    let mut all = db::checkout(&app.pool, Scope::All).await.unwrap();
    let tables = tenant_tables(&mut all).await;
    // Both tenants have rows where the test can tell: the same unscoped query sees them in `all`.
    assert_eq!(count(&mut all, "SELECT count(*) AS n FROM users").await, 2);
    assert_eq!(count(&mut all, "SELECT count(DISTINCT tenant_id) AS n FROM provisioning_log").await, 2);
    assert_eq!(count(&mut all, "SELECT count(DISTINCT tenant_id) AS n FROM group_members").await, 2);
    drop(all);

    for (me, them) in [(acme, globex), (globex, acme)] {
        let mut conn = db::checkout(&app.pool, Scope::Tenant(me)).await.unwrap();
        // Deliberately unscoped: no tenant_id predicate anywhere.
        let users: Vec<Id> =
            diesel::sql_query("SELECT tenant_id AS id FROM users").load(&mut conn).await.unwrap();
        assert_eq!(users.len(), 1, "one user of each tenant exists; an unscoped query sees its own only");
        assert!(users.iter().all(|u| u.id == me));
        for table in &tables {
            let column = if table == "tenants" { "id" } else { "tenant_id" };
            let sql = format!("SELECT count(*) AS n FROM {table} WHERE {column} IS DISTINCT FROM '{me}'");
            assert_eq!(count(&mut conn, &sql).await, 0, "{table}: another tenant's rows are visible");
        }
        assert!(count(&mut conn, "SELECT count(*) AS n FROM provisioning_log").await > 0);
        // An unscoped UPDATE or DELETE reaches only the session's tenant.
        let touched =
            diesel::sql_query("UPDATE users SET comment = 'touched'").execute(&mut conn).await.unwrap();
        assert_eq!(touched, 1);
        let deleted = diesel::sql_query(format!("DELETE FROM group_members WHERE tenant_id = '{them}'"))
            .execute(&mut conn)
            .await;
        assert_eq!(deleted.unwrap(), 0);
        // Writing a row for another tenant is refused, not silently stored.
        let err = diesel::sql_query(format!(
            "INSERT INTO positions (tenant_id, id, name, name_key, created_at) \
             VALUES ('{them}', gen_random_uuid(), 'Spy', 'spy', now())"
        ))
        .execute(&mut conn)
        .await
        .expect_err("an INSERT naming another tenant must be refused");
        assert!(err.to_string().contains("row-level security"), "{err}");
        let err = diesel::sql_query(format!("UPDATE users SET tenant_id = '{them}'"))
            .execute(&mut conn)
            .await
            .expect_err("moving a row to another tenant must be refused");
        assert!(err.to_string().contains("row-level security"), "{err}");
    }
    // Each tenant's unscoped UPDATE touched its own user once; neither touched the other's.
    let mut all = db::checkout(&app.pool, Scope::All).await.unwrap();
    assert_eq!(count(&mut all, "SELECT count(*) AS n FROM users WHERE comment = 'touched'").await, 2);
    assert_eq!(count(&mut all, "SELECT count(*) AS n FROM positions WHERE name = 'Spy'").await, 0);
    // Each tenant's unscoped DELETE of the other's memberships removed nothing.
    assert_eq!(count(&mut all, "SELECT count(DISTINCT tenant_id) AS n FROM group_members").await, 2);
}

#[tokio::test]
async fn a_connection_with_no_scope_stated_sees_no_tenant() {
    let app = TestApp::spawn().await;
    app.create_user("alice@acme.example").await;
    // Straight from the pool, bypassing `db::checkout`: a fresh connection has no scope.
    let pool = db::build_pool(&app.db_url, &db::PoolOptions::with_size(1)).unwrap();
    let mut conn = pool.get().await.unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users").await, 0);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM tenants").await, 0);
    drop(conn);
    let mut conn = db::checkout(&pool, Scope::All).await.unwrap();
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users").await, 1);
}

#[tokio::test]
async fn a_pooled_connection_carries_no_scope_from_one_checkout_to_the_next() {
    let app = TestApp::spawn().await;
    app.new_tenant("globex").await;
    app.create_user("alice@acme.example").await;
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    // One connection, so every checkout gets the same one back.
    let pool = db::build_pool(&app.db_url, &db::PoolOptions::with_size(1)).unwrap();
    for _ in 0..2 {
        let mut conn = db::checkout(&pool, Scope::Tenant(acme)).await.unwrap();
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users").await, 1);
        drop(conn);
        let mut conn = db::checkout(&pool, Scope::Tenant(globex)).await.unwrap();
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users").await, 0);
        drop(conn);
    }
    // A failed transaction does not undo the scope either: it was stated outside it.
    let mut conn = db::checkout(&pool, Scope::Tenant(acme)).await.unwrap();
    let failed =
        diesel_async::AsyncConnection::transaction::<(), diesel::result::Error, _>(&mut *conn, async |c| {
            diesel::sql_query("SELECT 1/0").execute(c).await?;
            Ok(())
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users").await, 1);
}

#[tokio::test]
async fn the_index_search_helpers_answer_only_for_the_tenant_the_scope_admits() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("globex").await;
    let created = send(app.req_as(&other, Method::POST, "/Users").json(&serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bob@globex.example",
        "emails": [{"value": "bob@globex.example", "type": "work"}]
    })))
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let acme = tenant_id(&app, "acme").await;
    let globex = tenant_id(&app, "globex").await;
    // The helpers run as the tables' owner (migration 000026): their own check is all that
    // keeps them to the session's tenant.
    let by_email = format!(
        "SELECT count(*) AS n FROM roster_user_ids_by_email('{globex}', ARRAY['bob@globex.example'])"
    );
    let by_name = format!("SELECT count(*) AS n FROM roster_user_ids_by_name('{globex}', 'bob%')");
    for (scope, expected) in [(Scope::Tenant(acme), 0), (Scope::Tenant(globex), 1), (Scope::All, 1)] {
        let mut conn = db::checkout(&app.pool, scope).await.unwrap();
        assert_eq!(count(&mut conn, &by_email).await, expected, "{scope:?}");
        assert_eq!(count(&mut conn, &by_name).await, expected, "{scope:?}");
    }
    // Through SCIM, the searches that use them find the tenant's member, and only there.
    for (creds, expected) in [(&other, 1), (&app.creds, 0)] {
        for filter in
            [r#"emails[value eq "bob@globex.example"]"#, r#"userName sw "bob""#, r#"userName co "ob@glo""#]
        {
            let r = send(app.req_as(creds, Method::GET, "/Users").query(&[("filter", filter)])).await;
            assert_eq!(r.body["totalResults"], expected, "{filter}: {}", r.body);
        }
    }
}
