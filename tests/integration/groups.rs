//! /Groups: create with members, read, list, replace, delete, uniqueness.

use serde_json::{json, Value};

use crate::support::TestApp;

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| m.iter().map(|x| x["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn create_group_with_user_and_group_members() {
    let app = TestApp::spawn().await;
    let u = app.create_user("alice@example.com").await;
    let sub = app.create_group("Accounting", &[]).await;
    let r = app
        .post(
            "/Groups",
            &json!({
                // Entra adds a non-standard schema URN; it is ignored, not an error.
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Finance",
                "externalId": "fin-1",
                "members": [{"value": u, "$ref": null}, {"value": sub, "type": "Group"}]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]));
    let members = r.body["members"].as_array().unwrap();
    let user = members.iter().find(|m| m["value"] == u.as_str()).unwrap();
    assert_eq!(user["type"], "User");
    assert!(user.get("display").is_none(), "no invented display (RFC 7643 §2.4: client-set, immutable)");
    assert_eq!(user["$ref"], format!("{}/Users/{u}", app.creds.base));
    let group = members.iter().find(|m| m["value"] == sub.as_str()).unwrap();
    assert_eq!(group["type"], "Group");
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location"), format!("{}/Groups/{id}", app.creds.base));
    assert_eq!(app.get(&format!("/Groups/{id}")).await.body, r.body);
}

#[tokio::test]
async fn unknown_members_are_named_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let u = app.create_user("bob@example.com").await;
    let ghost = uuid::Uuid::now_v7().to_string();
    let r = app
        .post(
            "/Groups",
            &json!({"displayName": "Ghosts", "members": [{"value": u}, {"value": ghost}, {"value": "nope"}]}),
        )
        .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("nope") || detail.contains(&ghost), "{detail}");
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0, "no group was created");
    // A user id given as type Group does not exist as a Group.
    let r = app
        .post("/Groups", &json!({"displayName": "Typed", "members": [{"value": u, "type": "Group"}]}))
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = app
        .post("/Groups", &json!({"displayName": "Typed", "members": [{"value": u, "type": "Robot"}]}))
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn display_name_is_unique_case_insensitively_even_under_races() {
    let app = TestApp::spawn().await;
    app.create_group("Sales", &[]).await;
    app.post("/Groups", &json!({"displayName": "SALES"})).await.assert_error(409, Some("uniqueness"));
    let body = json!({"displayName": "Support"});
    let replies = futures_util::future::join_all((0..8).map(|_| app.post("/Groups", &body))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
}

#[tokio::test]
async fn put_replaces_attributes_and_members() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.create_user("a@x.com").await,
        app.create_user("b@x.com").await,
        app.create_user("c@x.com").await,
    );
    let g = app.create_group("Ops", &[&a, &b]).await;
    let r = app
        .put(
            &format!("/Groups/{g}"),
            &json!({"displayName": "Operations", "members": [{"value": b}, {"value": c}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Operations");
    let mut expected = vec![b.clone(), c.clone()];
    expected.sort();
    assert_eq!(member_ids(&r.body), expected);
    assert_eq!(member_ids(&app.get(&format!("/Groups/{g}")).await.body), expected);
    // PUT without members empties the group.
    let r = app.put(&format!("/Groups/{g}"), &json!({"displayName": "Operations"})).await;
    assert!(r.body.get("members").is_none());
    // A group cannot contain itself.
    app.put(&format!("/Groups/{g}"), &json!({"displayName": "Operations", "members": [{"value": g}]}))
        .await
        .assert_error(400, Some("invalidValue"));
    // Renaming onto another group's name is a uniqueness conflict.
    app.create_group("Legal", &[]).await;
    app.put(&format!("/Groups/{g}"), &json!({"displayName": "legal"}))
        .await
        .assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn excluded_members_are_not_returned_and_lists_page() {
    let app = TestApp::spawn().await;
    let u = app.create_user("m@x.com").await;
    let g = app.create_group("Big", &[&u]).await;
    app.create_group("Small", &[]).await;
    let r = app.get(&format!("/Groups/{g}?excludedAttributes=members")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Big");
    let r = app.get("/Groups?excludedAttributes=members&count=1").await;
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(2), json!(1)));
    assert!(r.body["Resources"][0].get("members").is_none());
    let r = app.get("/Groups").await;
    assert_eq!(r.body["Resources"][0]["members"][0]["value"], u);
}

#[tokio::test]
async fn delete_group_removes_it_and_its_nesting() {
    let app = TestApp::spawn().await;
    let child = app.create_group("Child", &[]).await;
    let parent = app.create_group("Parent", &[&child]).await;
    let before = app.get(&format!("/Groups/{parent}")).await.body["meta"]["version"].clone();
    assert_eq!(app.delete(&format!("/Groups/{child}")).await.status, 204);
    app.get(&format!("/Groups/{child}")).await.assert_error(404, None);
    let p = app.get(&format!("/Groups/{parent}")).await.body;
    assert!(p.get("members").is_none());
    assert_ne!(p["meta"]["version"], before, "the parent's version moves when its members change");
    // The name is free again.
    app.create_group("child", &[]).await;
}

/// The membership events of a group, as (kind, member id, member type), in outbox order.
async fn membership_events(app: &TestApp, group: &str) -> Vec<(String, String, String)> {
    app.outbox()
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("membership.") && e.payload["group_id"] == group)
        .map(|e| {
            assert_eq!(e.payload["member_id"], e.subject_id.to_string(), "the subject is the member");
            (e.kind, e.subject_id.to_string(), e.payload["member_type"].as_str().unwrap().to_string())
        })
        .collect()
}

fn version_of(group: &Value) -> u64 {
    let tag = group["meta"]["version"].as_str().unwrap();
    tag.trim_start_matches("W/").trim_matches('"').parse().unwrap()
}

/// IdPs assign members one PATCH at a time, many at once. Each such PATCH (one add, or one
/// removal by id) is one statement that locks the group only while it runs: every concurrent
/// assignment must still land exactly once, with its own version bump, event and log row.
#[tokio::test]
async fn concurrent_assignments_to_one_group_each_land_once_with_version_event_and_log_row() {
    use roster::db::provisioning_log::{self as store, LogQuery};
    let app = TestApp::spawn().await;
    let group = app.create_group("Everyone", &[]).await;
    let path = format!("/Groups/{group}");
    let before = version_of(&app.get(&path).await.body);
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(app.create_user(&format!("user{i}@assign.example")).await);
    }
    let add =
        |u: &String| app.patch_ops(&path, json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]));
    let replies = futures_util::future::join_all(users.iter().map(add)).await;
    for r in &replies {
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let after = app.get(&path).await.body;
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(member_ids(&after), expected);
    assert_eq!(version_of(&after), before + 16, "one version per assignment");
    let events = membership_events(&app, &group).await;
    let mut added: Vec<String> = events.iter().map(|(k, m, t)| format!("{k} {m} {t}")).collect();
    added.sort();
    let mut wanted: Vec<String> = users.iter().map(|u| format!("membership.added {u} User")).collect();
    wanted.sort();
    assert_eq!(added, wanted, "one event per assignment");
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let group_id: uuid::Uuid = group.parse().unwrap();
    let query = LogQuery { resource_id: Some(group_id), limit: 100, ..LogQuery::default() };
    let rows = store::list(&mut conn, tenant.id, &query).await.unwrap();
    let patches: Vec<_> = rows.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 16, "one log row per assignment: {patches:?}");
    assert!(patches.iter().all(|r| r.status == 204 && r.resource_type.as_deref() == Some("Group")));

    // The same assignment again changes nothing: no version, no event.
    assert_eq!(add(&users[0]).await.status, 204);
    assert_eq!(version_of(&app.get(&path).await.body), before + 16);
    assert_eq!(membership_events(&app, &group).await.len(), 16);

    // A member that does not exist, beside one that does: 400 naming it, and neither is added.
    let ghost = uuid::Uuid::now_v7().to_string();
    let extra = app.create_user("extra@assign.example").await;
    let r = app
        .patch_ops(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": extra}, {"value": ghost}]}]),
        )
        .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(&ghost) && !detail.contains(&extra), "{detail}");
    // A user named as a Group is not a Group.
    let r = app
        .patch_ops(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": extra, "type": "Group"}]}]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r =
        app.patch_ops(&path, json!([{"op": "add", "path": "members", "value": [{"value": group}]}])).await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(version_of(&app.get(&path).await.body), before + 16, "nothing was written");

    // Groups as members take the locked path: nesting works, a cycle is refused.
    let team = app.create_group("Team", &[]).await;
    let r = app.patch_ops(&path, json!([{"op": "add", "path": "members", "value": [{"value": team}]}])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app
        .patch_ops(
            &format!("/Groups/{team}"),
            json!([{"op": "add", "path": "members", "value": [{"value": group}]}]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));

    // One removal by id (Okta's filter form, Entra's value form) names each member removed,
    // with its type; ids that are no member and values that are no id change nothing.
    let r = app
        .patch_ops(&path, json!([{"op": "remove", "path": format!("members[value eq \"{team}\"]")}]))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app
        .patch_ops(
            &path,
            json!([{"op": "Remove", "path": "members",
                    "value": [{"value": users[1]}, {"value": users[1]}, {"value": ghost}, {"value": "not-an-id"}]}]),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let events = membership_events(&app, &group).await;
    let tail: Vec<_> = events[16..].iter().map(|(k, m, t)| (k.as_str(), m.as_str(), t.as_str())).collect();
    assert_eq!(
        tail,
        vec![
            ("membership.added", team.as_str(), "Group"),
            ("membership.removed", team.as_str(), "Group"),
            ("membership.removed", users[1].as_str(), "User"),
        ]
    );
    let now = app.get(&path).await.body;
    assert_eq!(version_of(&now), before + 19);
    assert_eq!(member_ids(&now).len(), 15);

    // A group that does not exist: 404, and nothing is written anywhere.
    let missing = format!("/Groups/{}", uuid::Uuid::now_v7());
    let r =
        app.patch_ops(&missing, json!([{"op": "add", "path": "members", "value": [{"value": extra}]}])).await;
    r.assert_error(404, None);
    let r = app
        .patch_ops(&missing, json!([{"op": "remove", "path": "members", "value": [{"value": extra}]}]))
        .await;
    r.assert_error(404, None);
    // Nor does a malformed request hide that the group is missing: 404 first, as on the locked path.
    let bad = json!([{"op": "add", "path": "members", "value": [{"value": "not-an-id"}]}]);
    app.patch_ops(&missing, bad.clone()).await.assert_error(404, None);
    let own = missing.trim_start_matches("/Groups/");
    let r =
        app.patch_ops(&missing, json!([{"op": "add", "path": "members", "value": [{"value": own}]}])).await;
    r.assert_error(404, None);
    app.patch_ops(&path, bad).await.assert_error(400, Some("invalidValue"));
}

/// Okta's group push: with every membership update it names the group again (a path-less
/// `replace` of `{id, displayName}`) and sends the removals and the additions in one PATCH. With
/// the group's own name, that is one statement, like Entra ID's single add: it takes no lock a
/// foreign-key check's hold blocks (the locked path's `FOR UPDATE` does). The removals come
/// before the additions (events in that order, one version, one log row); a member removed and
/// added again leaves and joins. With another name it is a rename, on the locked path: the name
/// and the membership change together, with `group.updated`; a taken name writes nothing.
#[tokio::test]
async fn oktas_group_push_is_one_statement_with_the_groups_own_name_and_a_rename_otherwise() {
    use diesel_async::SimpleAsyncConnection;
    use roster::db::provisioning_log::{self as store, LogQuery};
    let app = TestApp::spawn().await;
    let users: Vec<String> = {
        let mut out = Vec::new();
        for i in 0..4 {
            out.push(app.create_user(&format!("push{i}@okta.example")).await);
        }
        out
    };
    let group = app.create_group("Sales", &[&users[0], &users[1]]).await;
    app.create_group("Marketing", &[]).await;
    let path = format!("/Groups/{group}");
    let before = version_of(&app.get(&path).await.body);
    let push = |name: &str, remove: &[&String], add: &[&String]| {
        let mut ops = vec![json!({"op": "replace", "value": {"id": group, "displayName": name}})];
        for r in remove {
            ops.push(json!({"op": "remove", "path": format!("members[value eq \"{r}\"]")}));
        }
        if !add.is_empty() {
            let refs: Vec<Value> = add.iter().map(|a| json!({"value": a, "display": "someone"})).collect();
            ops.push(json!({"op": "add", "path": "members", "value": refs}));
        }
        Value::Array(ops)
    };

    // The group's name, while another transaction holds a key-share lock on its row.
    let mut holder = app.hold_key_share("groups", &group).await;
    let sent = app.patch_ops(&path, push("Sales", &[&users[0]], &[&users[2], &users[3]]));
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), sent)
        .await
        .expect("the push waited for a lock: it took the locked path");
    assert_eq!(r.status, 204, "{}", r.body);
    holder.batch_execute("COMMIT").await.unwrap();
    let now = app.get(&path).await.body;
    let mut expected = vec![users[1].clone(), users[2].clone(), users[3].clone()];
    expected.sort();
    assert_eq!(member_ids(&now), expected);
    assert_eq!(now["displayName"], "Sales");
    assert_eq!(version_of(&now), before + 1, "one version for the whole push");
    let events = membership_events(&app, &group).await;
    let tail: Vec<_> = events[2..].iter().map(|(k, m, _)| (k.as_str(), m.as_str())).collect();
    assert_eq!(
        tail,
        vec![
            ("membership.removed", users[0].as_str()),
            ("membership.added", users[2].as_str()),
            ("membership.added", users[3].as_str()),
        ]
    );

    // A member removed and added again in one push leaves and joins; the name alone, or a
    // removal of no member, changes nothing.
    let r = app.patch_ops(&path, push("Sales", &[&users[1]], &[&users[1]])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = app.patch_ops(&path, push("Sales", &[&users[0]], &[])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let now = app.get(&path).await.body;
    assert_eq!(member_ids(&now), expected);
    assert_eq!(version_of(&now), before + 2);
    let events = membership_events(&app, &group).await;
    let tail: Vec<_> = events[5..].iter().map(|(k, m, _)| (k.as_str(), m.as_str())).collect();
    assert_eq!(
        tail,
        vec![("membership.removed", users[1].as_str()), ("membership.added", users[1].as_str())]
    );

    // A rename to a taken name: 409, and the membership in the same push is not written.
    let r = app.patch_ops(&path, push("Marketing", &[], &[&users[0]])).await;
    r.assert_error(409, Some("uniqueness"));
    let now = app.get(&path).await.body;
    assert_eq!((now["displayName"].as_str(), version_of(&now)), (Some("Sales"), before + 2));
    assert_eq!(member_ids(&now), expected);

    // A rename: the locked path, so the holder's key-share lock holds it up until released.
    let mut holder = app.hold_key_share("groups", &group).await;
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let held = app.get(&path).await.body;
        holder.batch_execute("COMMIT").await.unwrap();
        held
    };
    let (r, held) = tokio::join!(app.patch_ops(&path, push("Sales EMEA", &[], &[&users[0]])), release);
    assert_eq!(held["displayName"], "Sales", "the rename did not wait for the hold");
    assert_eq!(r.status, 204, "{}", r.body);
    let now = app.get(&path).await.body;
    assert_eq!(now["displayName"], "Sales EMEA");
    assert_eq!(version_of(&now), before + 3);
    assert_eq!(member_ids(&now).len(), 4);
    let updated: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|e| e.kind == "group.updated" && e.subject_id.to_string() == group)
        .collect();
    assert_eq!(updated.len(), 1, "the rename alone is a group.updated: {updated:?}");

    // One log row per request, whatever it did: three pushes that wrote, one that changed
    // nothing, the refused rename.
    app.flush_log().await;
    let mut conn = roster::db::checkout(&app.pool, roster::db::Scope::All).await.unwrap();
    let tenant = roster::directory::tenants::tenant(&mut conn, &app.creds.tenant).await.unwrap();
    let query = LogQuery { resource_id: Some(group.parse().unwrap()), limit: 100, ..LogQuery::default() };
    let rows = store::list(&mut conn, tenant.id, &query).await.unwrap();
    let statuses: Vec<i32> = rows.iter().filter(|r| r.method == "PATCH").map(|r| r.status).collect();
    assert_eq!(statuses.len(), 5, "one log row per request: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "{statuses:?}");
}

/// A hostile membership PATCH: as many member ids that do not exist as the default body limit
/// (64 KiB) takes. The one statement answers 400 with a bounded detail (three named, then a
/// count) and writes nothing; removing them is a no-op that does not bump the version.
#[tokio::test]
async fn a_body_full_of_unknown_members_gets_a_short_answer_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let real = app.create_user("real@hostile.example").await;
    let group = app.create_group("Crowd", &[]).await;
    let path = format!("/Groups/{group}");
    let before = version_of(&app.get(&path).await.body);
    let mut refs: Vec<Value> =
        (0..1_200).map(|_| json!({"value": uuid::Uuid::now_v7().to_string()})).collect();
    refs.push(json!({"value": real}));
    let r = app.patch_ops(&path, json!([{"op": "add", "path": "members", "value": refs}])).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("and 1197 more") && detail.len() < 400, "{detail}");
    assert!(!detail.contains(&real), "{detail}");
    let r = app.patch_ops(&path, json!([{"op": "remove", "path": "members", "value": refs}])).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let after = app.get(&path).await.body;
    assert_eq!(version_of(&after), before, "nothing was written");
    assert!(member_ids(&after).is_empty());
    assert!(membership_events(&app, &group).await.is_empty());
}

/// A member's `groups` (and the `groupRoles` that follow them) are in one order wherever they are
/// read: by name as bytes, then id; not the order the member joined them, nor the database's.
#[tokio::test]
async fn a_members_groups_are_in_name_order_in_a_read_a_page_and_a_tree_walk() {
    let app = TestApp::spawn().await;
    let u = app.create_user("sorted@example.com").await;
    // Joined in this order; as bytes "Mike" < "Zulu" < "alpha" < "beta" (a collation that folds
    // case would put "alpha" first).
    let mut ids = std::collections::HashMap::new();
    for name in ["beta", "Zulu", "alpha", "Mike"] {
        ids.insert(name, app.create_group(name, &[u.as_str()]).await);
    }
    let order = |member: &Value, key: &str| -> Vec<String> {
        member[key].as_array().unwrap().iter().map(|g| g["display"].as_str().unwrap().to_string()).collect()
    };
    let want = ["Mike", "Zulu", "alpha", "beta"];
    let read = app.get(&format!("/Users/{u}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(order(&read.body, "groups"), want);
    assert_eq!(order(&read.body[ROSTER_USER], "groupRoles"), want);
    let page = app.get("/Users?count=10").await;
    let listed = page.body["Resources"].as_array().unwrap().iter().find(|m| m["id"] == u.as_str()).unwrap();
    assert_eq!(order(listed, "groups"), want);
    assert_eq!(order(&listed[ROSTER_USER], "groupRoles"), want);

    // "alpha" nested in "Omega": the member's groups are walked as a tree, in the same order.
    let omega = app.create_group("Omega", &[]).await;
    let r = app
        .patch_ops(
            &format!("/Groups/{omega}"),
            json!([{"op": "add", "path": "members", "value": [{"value": ids["alpha"], "type": "Group"}]}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let read = app.get(&format!("/Users/{u}")).await;
    assert_eq!(order(&read.body, "groups"), ["Mike", "Omega", "Zulu", "alpha", "beta"]);
    let kinds: Vec<&str> =
        read.body["groups"].as_array().unwrap().iter().map(|g| g["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["direct", "indirect", "direct", "direct", "direct"]);
    let page = app.get("/Users?count=10").await;
    let listed = page.body["Resources"].as_array().unwrap().iter().find(|m| m["id"] == u.as_str()).unwrap();
    assert_eq!(listed["groups"], read.body["groups"]);

    // Out of "Omega" again: "alpha" stays marked as nested (migration 000042), and the walk finds
    // the member's groups flat: the same four, direct.
    let r = app
        .patch_ops(
            &format!("/Groups/{omega}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids["alpha"])}]),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let read = app.get(&format!("/Users/{u}")).await;
    assert_eq!(order(&read.body, "groups"), want);
    assert!(read.body["groups"].as_array().unwrap().iter().all(|g| g["type"] == "direct"), "{}", read.body);
}

/// Two groups made members of each other at once, each for the first time, while each one's own
/// row is held by its own write (a group write bumps its version first): the nesting flag each
/// insert sets (migration 000042) would close a lock cycle. One of the two is refused as a
/// serialization failure, which Roster answers 409 "retry", not as an unknown error (a 500);
/// the other lands and marks its group.
#[tokio::test]
async fn two_groups_nested_in_each_other_at_once_give_a_conflict_to_retry() {
    use diesel::result::{DatabaseErrorKind, Error};
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let app = TestApp::spawn().await;
    let (a, b) = (app.create_group("Left", &[]).await, app.create_group("Right", &[]).await);
    let mut one = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let mut two = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for (conn, own) in [(&mut one, &a), (&mut two, &b)] {
        conn.batch_execute(&format!("BEGIN; UPDATE groups SET version = version + 1 WHERE id = '{own}'"))
            .await
            .unwrap();
    }
    let nest = |parent: &str, child: &str| {
        format!(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_type) \
             SELECT tenant_id, id, '{child}', 'Group' FROM groups WHERE id = '{parent}'"
        )
    };
    let (first, second) = (nest(&a, &b), nest(&b, &a));
    let (r1, r2) = tokio::join!(one.batch_execute(&first), two.batch_execute(&second));
    // The write that lands nests the other group in its own: `b` for the first, `a` for the second.
    let (refused, nested) = match (r1, r2) {
        (Ok(()), Err(e)) => {
            one.batch_execute("COMMIT").await.unwrap();
            (e, &b)
        }
        (Err(e), Ok(())) => {
            two.batch_execute("COMMIT").await.unwrap();
            (e, &a)
        }
        other => panic!("exactly one of the two must be refused: {other:?}"),
    };
    match &refused {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
            assert!(info.message().contains("retry"), "{}", info.message())
        }
        e => panic!("the refused write must be a serialization failure, not {e:?}"),
    }
    let mut check = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let marked: Vec<String> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(format!("SELECT id::text AS id FROM groups WHERE id IN ('{a}', '{b}') AND nested")),
        &mut check,
    )
    .await
    .map(|rows: Vec<Marked>| rows.into_iter().map(|m| m.id).collect())
    .unwrap();
    assert_eq!(
        marked,
        std::slice::from_ref(nested),
        "only the group nested by the write that landed is marked"
    );
}

#[derive(diesel::QueryableByName)]
struct Marked {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

const ROSTER_USER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
