//! The PATCH data set, loaded fresh on every run (the bench writes to it): users from the shared
//! generator (`common::load`), three measured groups of 0, members/10 and `members` direct user
//! members, filler groups of 3, and spare users that belong to no group.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Jsonb, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::common::load::{
    connect_for_load, finish_load, insert_groups, insert_members, insert_spread_members, load_users,
    reset_tenant, user_name,
};
use roster::auth::SigningKey;

/// Tenant slug of the benchmark data.
const TENANT_SLUG: &str = "bench-patch";
/// Groups of 3 members besides the three measured ones, so `groups` is not a toy table.
pub const FILLER_GROUPS: u64 = 1000;

/// What to load.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Members of the largest measured group (users 1..=members); the middle one has a tenth.
    pub members: u64,
    /// Users after the members that belong to no group (added and removed by the bench).
    pub spare: u64,
    /// Users the user-PATCH cases write (drawn from 1..=members).
    pub patched: u64,
}

impl Spec {
    /// All users.
    pub fn users(&self) -> u64 {
        self.members + self.spare
    }
}

/// A measured group.
#[derive(Debug, Clone)]
pub struct Group {
    /// displayName.
    pub name: String,
    /// Id.
    pub id: Uuid,
    /// Direct members after the load.
    pub size: i64,
}

/// The loaded tenant.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Tenant id.
    pub tenant: Uuid,
    /// Connection id.
    pub connection: Uuid,
    /// Bearer token.
    pub token: String,
    /// The measured groups, smallest first.
    pub groups: Vec<Group>,
    /// A filler group for the warm-up.
    pub warm_group: Group,
    /// A member of the largest group (for EXPLAIN of a delete).
    pub big_member: Uuid,
    /// A member of the middle group (also in the largest), for EXPLAIN of groups_of.
    pub medium_member: Uuid,
    /// Users loaded.
    pub users: u64,
    /// Seconds the load took.
    pub load_secs: f64,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Replace whatever the database holds with a fresh data set.
pub async fn load(url: &str, spec: Spec, key: &SigningKey) -> anyhow::Result<Loaded> {
    anyhow::ensure!(spec.patched <= spec.members, "more users to patch ({}) than members", spec.patched);
    let mut conn = connect_for_load(url).await?;
    let started = Instant::now();
    let now = Utc::now();
    println!(
        "loading {} users, groups of 0, {} and {} members, {FILLER_GROUPS} filler groups ...",
        spec.users(),
        spec.members / 10,
        spec.members
    );
    let (tenant, connection, token) =
        reset_tenant(&mut conn, key, TENANT_SLUG, "PATCH benchmark", now).await?;
    load_users(&mut conn, tenant, connection, spec.users()).await?;
    load_groups(&mut conn, tenant, connection, spec).await?;
    finish_load(&mut conn).await?;
    let load_secs = started.elapsed().as_secs_f64();
    println!("loaded in {load_secs:.1}s");

    let mut groups = Vec::new();
    for name in ["Empty group", "Medium group", "Big group", "Group 3"] {
        let g: IdRow =
            diesel::sql_query("SELECT id FROM groups WHERE tenant_id = $1 AND display_name_key = $2")
                .bind::<SqlUuid, _>(tenant)
                .bind::<Text, _>(name.to_lowercase())
                .get_result(&mut conn)
                .await
                .with_context(|| format!("finding {name}"))?;
        let size: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM group_members WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<SqlUuid, _>(g.id)
        .get_result(&mut conn)
        .await?;
        groups.push(Group { name: name.into(), id: g.id, size: size.n });
    }
    let warm_group = groups.pop().context("no filler group")?;
    let want = [0, (spec.members / 10) as i64, spec.members as i64];
    let got: Vec<i64> = groups.iter().map(|g| g.size).collect();
    anyhow::ensure!(got == want, "loaded group sizes {got:?}, expected {want:?}");
    let big = groups[2].id;
    let member: IdRow = diesel::sql_query(
        "SELECT member_id AS id FROM group_members WHERE tenant_id = $1 AND group_id = $2 LIMIT 1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(big)
    .get_result(&mut conn)
    .await?;
    let medium: IdRow = diesel::sql_query(
        "SELECT member_id AS id FROM group_members WHERE tenant_id = $1 AND group_id = $2 LIMIT 1",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(groups[1].id)
    .get_result(&mut conn)
    .await?;
    Ok(Loaded {
        medium_member: medium.id,
        tenant,
        connection,
        token,
        groups,
        warm_group,
        big_member: member.id,
        users: spec.users(),
        load_secs,
    })
}

async fn load_groups(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    connection: Uuid,
    spec: Spec,
) -> anyhow::Result<()> {
    let t = Instant::now();
    // 0, 1, 2 are the measured groups.
    let name = "CASE g WHEN 0 THEN 'Empty group' WHEN 1 THEN 'Medium group' \
                WHEN 2 THEN 'Big group' ELSE 'Group ' || g END";
    insert_groups(conn, tenant, connection, spec.users(), name, FILLER_GROUPS + 2).await?;
    for (key, size) in [("medium group", spec.members / 10), ("big group", spec.members)] {
        insert_members(conn, tenant, key, size, "k", |_, _, _, _| {}).await?;
    }
    // Filler groups: 3 members each among the members (never the spare users).
    insert_spread_members(conn, tenant, spec.users(), (3, FILLER_GROUPS + 2), "2", spec.members).await?;
    println!("  groups and memberships in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}

/// Ids of the spare users (members+1 ..= members+spare), in order.
pub async fn spare_users(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    spec: Spec,
) -> anyhow::Result<Vec<Uuid>> {
    let keys: Vec<String> = (spec.members + 1..=spec.users()).map(|i| user_name(i).to_lowercase()).collect();
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT id FROM users WHERE tenant_id = $1 AND user_name_key = ANY($2) ORDER BY id",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<Text>, _>(&keys)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() == keys.len(), "found {} of {} spare users", rows.len(), keys.len());
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A user as loaded: id and resource.
#[derive(Debug, Clone)]
pub struct UserSnapshot {
    /// Id.
    pub id: Uuid,
    /// The stored resource.
    pub resource: Map<String, Value>,
}

/// `clients` disjoint lists of `per_client` distinct users drawn (seeded) from the members.
pub async fn user_snapshots(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    spec: Spec,
    clients: usize,
    per_client: usize,
    seed: u64,
) -> anyhow::Result<Vec<Vec<UserSnapshot>>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        user_name_key: String,
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Jsonb)]
        resource: Value,
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let picked: Vec<u64> = sample(&mut rng, spec.members as usize, clients * per_client)
        .into_iter()
        .map(|i| i as u64 + 1)
        .collect();
    let keys: Vec<String> = picked.iter().map(|&i| user_name(i).to_lowercase()).collect();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT user_name_key, id, resource FROM users WHERE tenant_id = $1 AND user_name_key = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<Text>, _>(&keys)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() == keys.len(), "found {} of {} users to patch", rows.len(), keys.len());
    let mut by_key: std::collections::HashMap<String, UserSnapshot> = rows
        .into_iter()
        .map(|r| {
            let resource = match r.resource {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            (r.user_name_key, UserSnapshot { id: r.id, resource })
        })
        .collect();
    let mut out = Vec::with_capacity(clients);
    for chunk in keys.chunks(per_client) {
        let mut mine = Vec::with_capacity(per_client);
        for k in chunk {
            mine.push(by_key.remove(k).context("user sampled twice")?);
        }
        out.push(mine);
    }
    Ok(out)
}
