//! The rules of single columns that every request's writes touch, kept by the database itself
//! (domains since migration 000040): a value outside a column's rule is refused whoever writes
//! it, and a value at the rule's edge is stored.

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::support::TestApp;

#[tokio::test]
async fn the_database_refuses_a_value_outside_a_columns_rule() {
    let app = TestApp::spawn().await;
    let member = app.create_user("rules@example.com").await;
    app.flush_log().await;
    // The member's create wrote a member row, its event, its provisioning-log row and the
    // tenant's member count: each column below has a row to be written on.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("connect");
    let on_member = format!("WHERE id = '{member}'");
    let on_log = format!("WHERE resource_id = '{member}'");
    let on_event = format!("WHERE subject_id = '{member}'");
    // The count row of the highest slot: moving it to 63 collides with none of the others.
    let on_count = "WHERE (tenant_id, shift, bucket, slot) = (SELECT tenant_id, shift, bucket, slot \
                    FROM member_counts ORDER BY slot DESC LIMIT 1)"
        .to_string();
    // The whole-tenant count rows (bucket 0): no row of the finest width has bucket 0.
    let on_total = "WHERE shift = 48".to_string();
    let writes: &[(&str, &str, &str, &str)] = &[
        ("users", "origin = 'ldap'", "origin = 'registration'", &on_member),
        ("users", "comment = repeat('c', 2001)", "comment = repeat('c', 2000)", &on_member),
        ("users", "version = 0", "version = 1", &on_member),
        ("event_outbox", "kind = 'member.exploded'", "kind = 'member.updated'", &on_event),
        ("provisioning_log", "request_id = repeat('r', 65)", "request_id = repeat('r', 64)", &on_log),
        ("provisioning_log", "method = repeat('M', 17)", "method = repeat('M', 16)", &on_log),
        ("provisioning_log", "resource_type = 'Device'", "resource_type = 'Group'", &on_log),
        ("provisioning_log", "operation = repeat('o', 401)", "operation = repeat('o', 400)", &on_log),
        ("provisioning_log", "detail = repeat('d', 2001)", "detail = repeat('d', 2000)", &on_log),
        ("provisioning_log", "latency_ms = -0.5", "latency_ms = 0", &on_log),
        ("provisioning_log", "source = 'ldap'", "source = 'import'", &on_log),
        ("member_counts", "slot = 64", "slot = 63", &on_count),
        ("member_counts", "shift = 11", "shift = 10", &on_total),
    ];
    for (table, outside, edge, which) in writes {
        let refused = conn.batch_execute(&format!("UPDATE {table} SET {outside} {which}")).await;
        let err = refused.expect_err(&format!("{table}: {outside} must be refused")).to_string();
        assert!(err.contains("violates check constraint"), "{table}: {outside}: {err}");
        let rows = conn.batch_execute(&format!("UPDATE {table} SET {edge} {which}")).await;
        rows.unwrap_or_else(|e| panic!("{table}: {edge} must be stored: {e}"));
    }
    let stored: Vec<String> = {
        use diesel::sql_types::Text;
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Found {
            #[diesel(sql_type = Text)]
            value: String,
        }
        let read = format!(
            "SELECT origin AS value FROM users {on_member} \
             UNION ALL SELECT source FROM provisioning_log {on_log} \
             UNION ALL SELECT kind FROM event_outbox {on_event}"
        );
        diesel::sql_query(read).load::<Found>(&mut conn).await.unwrap().into_iter().map(|f| f.value).collect()
    };
    assert!(stored.contains(&"registration".to_string()) && stored.contains(&"import".to_string()));
    assert!(stored.iter().all(|v| !["ldap", "member.exploded"].contains(&v.as_str())), "{stored:?}");
}
