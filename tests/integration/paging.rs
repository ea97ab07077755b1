//! Index paging through a tenant's members (`startIndex`, `count`, no filter, no sort): the page
//! is found from the member counts kept per range of ids (migration 000041), not by skipping
//! every member before it, and must be exactly the page the ordered list gives, whatever ranges
//! the members' ids fall in and whichever members left or came back.

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use crate::support::requests::send;
use crate::support::TestApp;

/// A member id issued at millisecond `ms` (UUIDv7 layout); `n` tells ids of one millisecond apart.
fn id_at(ms: u64, n: u64) -> Uuid {
    Uuid::parse_str(&format!("{ms:012x}7{:03x}8{:015x}", n & 0xfff, n)).unwrap()
}

/// Insert a member with id `id` straight into `users` (as an import of old data would), so its
/// id can lie in any range of the counts.
async fn insert_member(conn: &mut AsyncPgConnection, tenant: Uuid, id: Uuid, name: &str) {
    diesel::sql_query(
        "INSERT INTO users (tenant_id, id, user_name, user_name_key, resource, created_at, last_modified) \
         VALUES ($1, $2, $3, lower($3), jsonb_build_object('userName', $3::text, 'active', true), now(), now())",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(name)
    .execute(conn)
    .await
    .unwrap();
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The tenant's visible members in id order, as the database has them.
async fn visible(conn: &mut AsyncPgConnection, tenant: Uuid) -> Vec<String> {
    diesel::sql_query("SELECT id FROM users WHERE tenant_id = $1 AND status <> 'removed' ORDER BY id")
        .bind::<SqlUuid, _>(tenant)
        .load::<Id>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect()
}

#[tokio::test]
async fn every_page_is_the_slice_of_the_ordered_members_whatever_ranges_their_ids_fall_in() {
    let app = TestApp::spawn().await;
    let other = app.new_tenant("initech").await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let tenant = {
        let mut c = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        roster::directory::tenants::tenant(&mut c, &app.creds.tenant).await.unwrap().id
    };
    let other_tenant = {
        let mut c = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        roster::directory::tenants::tenant(&mut c, &other.tenant).await.unwrap().id
    };

    // Members created over SCIM now (several connections of the pool: several count slots).
    let mut created = Vec::new();
    for i in 0..6 {
        created.push(app.create_user(&format!("now{i}@example.com")).await);
    }
    // Members whose ids lie in every width of range: one millisecond, one second (the finest
    // range, 1,024 ms), 17.5 minutes (2^20 ms), 12.4 days (2^30 ms), and years apart.
    let base: u64 = 1_577_836_800_000; // 2020-01-01
    let mut ms: Vec<(u64, u64)> = Vec::new();
    ms.extend((0..3).map(|n| (base + 500, n)));
    ms.extend((0..12).map(|k| (base + 1000 + k * 2, 0)));
    ms.extend((1..=5).map(|k| (base + 1024 * k, 0)));
    ms.extend((1..=4).map(|k| (base + (1 << 20) * k + 7, 0)));
    ms.extend((1..=4).map(|k| (base + (1 << 30) * k + 11, 0)));
    ms.extend((1..=3).map(|k| (base + (1 << 36) * k, 0)));
    for (i, (at, n)) in ms.iter().enumerate() {
        insert_member(&mut conn, tenant, id_at(*at, *n), &format!("old{i}@example.com")).await;
        // Another tenant's members in the same ranges are not counted in this tenant's.
        insert_member(&mut conn, other_tenant, id_at(*at, *n + 100), &format!("old{i}@example.com")).await;
    }
    // Some leave and some come back: removed over SCIM, removed and deleted in the table,
    // restored.
    assert_eq!(app.delete(&format!("/Users/{}", created[2])).await.status, 204);
    let gone = [id_at(base + 500, 1), id_at(base + 1024 * 3, 0), id_at(base + (1 << 30) * 2 + 11, 0)];
    let deleted = [id_at(base + 1000 + 6, 0), id_at(base + (1 << 36) * 2, 0)];
    for id in &gone {
        conn.batch_execute(&format!(
            "UPDATE users SET status = 'removed', removed_at = now() WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    }
    for id in &deleted {
        conn.batch_execute(&format!("DELETE FROM users WHERE id = '{id}'")).await.unwrap();
    }
    conn.batch_execute(&format!(
        "UPDATE users SET status = 'provisioned', removed_at = NULL WHERE id = '{}'",
        gone[1]
    ))
    .await
    .unwrap();

    // Two members in a group: their pages carry `groups`, written in with the stored resource.
    let group = app
        .post(
            "/Groups",
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Crew",
                                "members": [{"value": created[0]}, {"value": created[4]}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);

    let members = visible(&mut conn, tenant).await;
    assert_eq!(members.len(), 6 - 1 + ms.len() - 2 - 2);
    // A member on a page (read as text, never parsed into a tree) is written exactly as its own
    // GET writes it (parsed), keys in the same order, `groups` and Roster's extension included.
    let page = app.get(&format!("/Users?startIndex=1&count={}", members.len())).await;
    let listed = page.body["Resources"].as_array().unwrap();
    assert_eq!(listed.len(), members.len());
    for resource in listed {
        let one = app.get(&format!("/Users/{}", resource["id"].as_str().unwrap())).await;
        assert_eq!(one.status, 200);
        assert_eq!(serde_json::to_string(resource).unwrap(), serde_json::to_string(&one.body).unwrap());
    }
    let in_group = listed.iter().filter(|m| m["groups"][0]["display"] == "Crew").count();
    assert_eq!(in_group, 2);
    for count in [1usize, 7] {
        for start in 1..=members.len() + 2 {
            let r = app.get(&format!("/Users?startIndex={start}&count={count}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["totalResults"], members.len(), "startIndex={start}");
            let got: Vec<&str> =
                r.body["Resources"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
            let want: Vec<&str> = members.iter().skip(start - 1).take(count).map(String::as_str).collect();
            assert_eq!(got, want, "startIndex={start}&count={count}");
        }
    }
    // A start far past the end is an empty page, not an error; past a 64-bit integer, a 400.
    let r = app.get("/Users?startIndex=9223372036854775807&count=5").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], members.len());
    assert_eq!(r.body["Resources"].as_array().map(Vec::len).unwrap_or(0), 0, "{}", r.body);
    let r = app.get("/Users?startIndex=18446744073709551616&count=5").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    // The other tenant pages its own members only.
    let theirs = visible(&mut conn, other_tenant).await;
    let r =
        send(app.client.get(format!("{}/Users?startIndex=3&count=4", other.base)).bearer_auth(&other.token))
            .await;
    assert_eq!(r.body["totalResults"], theirs.len());
    let got: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(got, theirs[2..6].iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_page_is_exact_while_members_are_created_and_removed_in_parallel() {
    // Pages read while other requests create and remove members: each page is read in one
    // statement, its position among the counts and its rows in one snapshot, so a page never
    // repeats a member of the page before it beyond what the changes in between explain; here
    // the members before the pages read never change, so every page must be exact.
    let app = TestApp::spawn().await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let tenant = {
        let mut c = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
        roster::directory::tenants::tenant(&mut c, &app.creds.tenant).await.unwrap().id
    };
    let base: u64 = 1_577_836_800_000;
    for i in 0..40u64 {
        insert_member(&mut conn, tenant, id_at(base + i * 400, i), &format!("early{i}@example.com")).await;
    }
    let early = visible(&mut conn, tenant).await;
    let writer = async {
        for i in 0..20 {
            let id = app.create_user(&format!("late{i}@example.com")).await;
            if i % 2 == 0 {
                assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
            }
        }
    };
    let reader = async {
        for round in 0..5 {
            for start in (1..=early.len() - 2).step_by(3) {
                let r = app.get(&format!("/Users?startIndex={start}&count=3")).await;
                assert_eq!(r.status, 200, "{}", r.body);
                let got: Vec<String> = r.body["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_str().unwrap().to_string())
                    .collect();
                let want: Vec<String> = early.iter().skip(start - 1).take(3).cloned().collect();
                assert_eq!(got, want, "round {round}, startIndex={start}");
            }
        }
    };
    tokio::join!(writer, reader);
    let total = app.get("/Users?count=0").await.body["totalResults"].as_u64().unwrap();
    assert_eq!(total as usize, visible(&mut conn, tenant).await.len());
    let r = app.get(&format!("/Users?startIndex={}&count=100", early.len() + 1)).await;
    let late: Vec<&str> =
        r.body["Resources"].as_array().unwrap().iter().map(|m| m["userName"].as_str().unwrap()).collect();
    assert_eq!(late.len(), 10, "{late:?}");
    assert!(late.iter().all(|n| n.starts_with("late")), "{late:?}");
}

#[tokio::test]
async fn a_member_read_as_text_is_written_as_its_create_wrote_it_parsed() {
    // A create answers with the member parsed into a tree; a GET, the IdPs' probe and a page
    // write the stored text through. All must write the same member; the reads, keys in the same
    // order (the create's keys follow the request's order, the reads' the `jsonb` order).
    let app = TestApp::spawn().await;
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "Ann.Lee@Example.com",
        "externalId": "00aa-ann",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann \"Q\" Lee \u{00e6}"},
        "displayName": "Ann Lee",
        "title": "Engineer",
        "active": true,
        "emails": [{"value": "ann@example.com", "type": "work", "primary": true},
                   {"value": "ann@home.example", "type": "home"}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "addresses": [{"streetAddress": "1 Main St\nFloor 2", "locality": "Oslo", "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": "701", "department": "R&D", "manager": {"value": "m-1"}}
    });
    let created = app.post("/Users", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body, created.body, "GET");
    let written = serde_json::to_string(&got.body).unwrap();
    let probe = app.get("/Users?filter=userName%20eq%20%22ann.lee%40example.com%22").await;
    assert_eq!(serde_json::to_string(&probe.body["Resources"][0]).unwrap(), written, "probe");
    let page = app.get("/Users?startIndex=1&count=10").await;
    assert_eq!(serde_json::to_string(&page.body["Resources"][0]).unwrap(), written, "page");
    // With a projection, as the create's answer would be projected.
    let some = app.get(&format!("/Users/{id}?attributes=name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")).await;
    assert_eq!(some.body["name"], serde_json::json!({"givenName": "Ann"}));
    assert_eq!(
        some.body["emails"],
        serde_json::json!([{"value": "ann@example.com"}, {"value": "ann@home.example"}])
    );
    assert_eq!(
        some.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        serde_json::json!({"manager": {"value": "m-1"}})
    );
    assert!(some.body.get("title").is_none() && some.body.get("userName").is_none(), "{}", some.body);
}
