//! The cost data set: three tenants in one database, loaded with the shared set-based generator
//! (`common::load`) and reused while their sizes match (`bench_cost_meta`).
//!
//! - `cost` (`--users` users): the general scenarios. Users 1 and 2 are org admins; "Big group"
//!   has users 1..=big as direct members, "Empty group" none; users big+1..=users ("spare") are in
//!   no group and are what the group-add scenario adds.
//! - `cost-small` (`--small`, 1,000) and `cost-large` (`--large`, 1,000,000): the deactivation
//!   comparison. Users 1 and 2 are org admins.
//!
//! Every generated member has `base_role = effective_role = 'member'` (what Roster gives a
//! member created in a tenant whose default role is `member`); the admins have
//! `role_override = effective_role = 'org_admin'`, so the last-admin guard runs as in production.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::{Array, BigInt, Bool, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::common::load::{
    connect_for_load, exec, finish_load, insert_groups, insert_members, load_users, reset_tenant,
    restore_indexes, user_id_sql,
};
use roster::auth::SigningKey;
use roster::directory::tenants;

/// Bumped whenever the generated data changes shape, so an old load is replaced.
const GENERATOR: i64 = 1;
/// Slug of the general tenant.
pub const MAIN: &str = "cost";
/// Slug of the small deactivation tenant.
pub const SMALL: &str = "cost-small";
/// Slug of the large deactivation tenant.
pub const LARGE: &str = "cost-large";
/// userName prefixes of rows the bench creates (removed again by [`cleanup`]).
pub const CREATED_PREFIXES: [&str; 3] = ["cost-", "cnt-", "pgb."];

/// Sizes of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Users of the general tenant.
    pub users: u64,
    /// Members of "Big group" (users 1..=big).
    pub big: u64,
    /// Users of the small deactivation tenant.
    pub small: u64,
    /// Users of the large deactivation tenant (0: none).
    pub large: u64,
}

impl Sizes {
    /// "Big group" holds 4/5 of the users, at most 100,000; the rest are spare.
    pub fn new(users: u64, small: u64, large: u64) -> Sizes {
        Sizes { users, big: (users * 4 / 5).min(100_000), small, large }
    }

    fn tenants(&self) -> Vec<(&'static str, u64, u64)> {
        let mut t = vec![(MAIN, self.users, self.big), (SMALL, self.small, 0)];
        if self.large > 0 {
            t.push((LARGE, self.large, 0));
        }
        t
    }
}

/// One loaded tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Slug.
    pub slug: &'static str,
    /// Id.
    pub id: Uuid,
    /// Connection id (in the SCIM base URL).
    pub connection: Uuid,
    /// A fresh bearer token of the connection.
    pub token: String,
    /// Generated users.
    pub users: u64,
}

/// The loaded data set.
#[derive(Debug, Clone)]
pub struct Data {
    /// The general tenant.
    pub main: Tenant,
    /// The small deactivation tenant.
    pub small: Tenant,
    /// The large deactivation tenant.
    pub large: Option<Tenant>,
    /// "Big group" of the general tenant.
    pub big_group: Uuid,
    /// "Empty group" of the general tenant.
    pub empty_group: Uuid,
    /// Seconds the load took (0 when reused).
    pub load_secs: f64,
}

#[derive(QueryableByName)]
struct Meta {
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = BigInt)]
    users: i64,
    #[diesel(sql_type = BigInt)]
    big: i64,
    #[diesel(sql_type = BigInt)]
    generator: i64,
    #[diesel(sql_type = SqlUuid)]
    connection_id: Uuid,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Load the data set unless the same sizes are already there; return tenants with fresh tokens.
pub async fn load(url: &str, sizes: Sizes, key: &SigningKey) -> anyhow::Result<Data> {
    let mut conn = connect_for_load(url).await?;
    exec(
        &mut conn,
        "CREATE TABLE IF NOT EXISTS bench_cost_meta (slug text PRIMARY KEY, users bigint NOT NULL, \
         big bigint NOT NULL, generator bigint NOT NULL, connection_id uuid NOT NULL, loaded_at timestamptz NOT NULL)",
    )
    .await?;
    restore_indexes(&mut conn).await?;
    let meta: Vec<Meta> = diesel::sql_query(
        "SELECT slug, users, big, generator, connection_id FROM bench_cost_meta ORDER BY slug",
    )
    .load(&mut conn)
    .await?;
    let wanted = sizes.tenants();
    let reuse = meta.len() == wanted.len()
        && wanted.iter().all(|(slug, users, big)| {
            meta.iter().any(|m| {
                m.slug == *slug
                    && m.users == *users as i64
                    && m.big == *big as i64
                    && m.generator == GENERATOR
            })
        });
    let started = Instant::now();
    let now = Utc::now();
    let mut loaded: Vec<Tenant> = Vec::new();
    if reuse {
        for (slug, users, _) in &wanted {
            let m = meta.iter().find(|m| m.slug == *slug).context("meta row vanished")?;
            let tenant = tenants::tenant(&mut conn, slug).await?;
            let connection = tenants::connection(&mut conn, &tenant, m.connection_id).await?;
            let token = tenants::issue_token(&mut conn, key, &connection, "cost bench", None, now).await?;
            loaded.push(Tenant {
                slug,
                id: tenant.id,
                connection: connection.id,
                token: token.token,
                users: *users,
            });
        }
        println!("data set already loaded ({}); reusing it", describe(&wanted));
    } else {
        println!("loading {} ...", describe(&wanted));
        exec(&mut conn, "TRUNCATE bench_cost_meta").await?;
        let (main_id, main_conn, main_token) =
            reset_tenant(&mut conn, key, MAIN, "Cost benchmark", now).await?;
        loaded.push(Tenant {
            slug: MAIN,
            id: main_id,
            connection: main_conn,
            token: main_token,
            users: sizes.users,
        });
        for (slug, users, _) in wanted.iter().skip(1) {
            let tenant =
                tenants::create_tenant(&mut conn, slug, &format!("Cost benchmark {slug}"), None, now).await?;
            let (connection, token) =
                tenants::create_connection(&mut conn, key, &tenant, &format!("{slug} IdP"), None, now)
                    .await?;
            loaded.push(Tenant {
                slug,
                id: tenant.id,
                connection: connection.id,
                token: token.token,
                users: *users,
            });
        }
        // Generated members get the role a SCIM-created member gets (the tenant default).
        exec(
            &mut conn,
            "ALTER TABLE users ALTER COLUMN base_role SET DEFAULT 'member', \
             ALTER COLUMN effective_role SET DEFAULT 'member'",
        )
        .await?;
        for t in &loaded {
            println!("tenant {} ({} users):", t.slug, t.users);
            load_users(&mut conn, t.id, t.connection, t.users).await?;
        }
        exec(
            &mut conn,
            "ALTER TABLE users ALTER COLUMN base_role DROP DEFAULT, ALTER COLUMN effective_role DROP DEFAULT",
        )
        .await?;
        for t in &loaded {
            // Two org admins per tenant: users 1 and 2.
            exec(
                &mut conn,
                &format!(
                    "UPDATE users SET role_override = 'org_admin', effective_role = 'org_admin' \
                     WHERE tenant_id = '{}' AND id IN ({}, {})",
                    t.id,
                    user_id_sql("1::bigint"),
                    user_id_sql("2::bigint")
                ),
            )
            .await?;
        }
        let main = &loaded[0];
        let t = Instant::now();
        let name = "CASE WHEN g = 0 THEN 'Big group' ELSE 'Empty group' END";
        insert_groups(&mut conn, main.id, main.connection, sizes.users, name, 1).await?;
        insert_members(&mut conn, main.id, "big group", sizes.big, "k", |start, end, n, secs| {
            println!("  Big group members {start}..={end}: {n} rows in {secs:.1}s")
        })
        .await?;
        println!("  groups in {:.1}s; rebuilding indexes ...", t.elapsed().as_secs_f64());
        finish_load(&mut conn).await?;
        for (t, (_, users, big)) in loaded.iter().zip(&wanted) {
            diesel::sql_query(
                "INSERT INTO bench_cost_meta (slug, users, big, generator, connection_id, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, now())",
            )
            .bind::<Text, _>(t.slug)
            .bind::<BigInt, _>(*users as i64)
            .bind::<BigInt, _>(*big as i64)
            .bind::<BigInt, _>(GENERATOR)
            .bind::<SqlUuid, _>(t.connection)
            .execute(&mut conn)
            .await?;
        }
        println!("loaded in {:.1}s", started.elapsed().as_secs_f64());
    }
    let load_secs = if reuse { 0.0 } else { started.elapsed().as_secs_f64() };
    let main = loaded[0].clone();
    let group = |name: &'static str| {
        diesel::sql_query("SELECT id FROM groups WHERE tenant_id = $1 AND display_name_key = $2")
            .bind::<SqlUuid, _>(main.id)
            .bind::<Text, _>(name)
    };
    let big: IdRow = group("big group").get_result(&mut conn).await.context("finding Big group")?;
    let empty: IdRow = group("empty group").get_result(&mut conn).await.context("finding Empty group")?;
    for t in &loaded {
        let admins = admin_count(&mut conn, t.id).await?;
        anyhow::ensure!(admins >= 2, "tenant {} has {admins} org admins, expected 2", t.slug);
    }
    Ok(Data {
        main,
        small: loaded[1].clone(),
        large: loaded.get(2).cloned(),
        big_group: big.id,
        empty_group: empty.id,
        load_secs,
    })
}

fn describe(wanted: &[(&str, u64, u64)]) -> String {
    wanted
        .iter()
        .map(|(slug, users, big)| {
            if *big > 0 {
                format!("{slug}: {users} users, Big group {big}")
            } else {
                format!("{slug}: {users} users")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Active org admins of a tenant (effective role `org_admin`, not suspended or removed).
pub async fn admin_count(conn: &mut AsyncPgConnection, tenant: Uuid) -> anyhow::Result<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(
        "SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND effective_role = 'org_admin' \
         AND status NOT IN ('removed', 'suspended')",
    )
    .bind::<SqlUuid, _>(tenant)
    .get_result(conn)
    .await?;
    Ok(n.n)
}

/// Rows of a tenant's provisioning log with `at` from `since` on (the index on `(tenant_id, at)`
/// serves it).
pub async fn log_rows_since(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    since: chrono::DateTime<Utc>,
) -> anyhow::Result<u64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N =
        diesel::sql_query("SELECT count(*) AS n FROM provisioning_log WHERE tenant_id = $1 AND at >= $2")
            .bind::<SqlUuid, _>(tenant)
            .bind::<diesel::sql_types::Timestamptz, _>(since)
            .get_result(conn)
            .await?;
    Ok(n.n.max(0) as u64)
}

/// Put the data set back into its loaded state: delete the users the bench created (userName
/// prefixes [`CREATED_PREFIXES`]) and the memberships added after the load, and reactivate every
/// member (plain SQL, no events), then VACUUM (ANALYZE) the written tables so index-only scans
/// see an up-to-date visibility map.
pub async fn cleanup(conn: &mut AsyncPgConnection, data: &Data, vacuum: bool) -> anyhow::Result<()> {
    delete_created(conn, data.main.id).await?;
    delete_added_memberships(conn, data.main.id).await?;
    let mut ids = vec![data.main.id, data.small.id];
    ids.extend(data.large.as_ref().map(|t| t.id));
    diesel::sql_query(
        "UPDATE users SET active = true, status = 'provisioned', resource = jsonb_set(resource, '{active}', 'true') \
         WHERE tenant_id = ANY($1) AND (NOT active OR status <> 'provisioned')",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .execute(conn)
    .await?;
    if vacuum {
        for table in ["users", "group_members", "groups"] {
            exec(conn, &format!("VACUUM (ANALYZE) {table}")).await?;
        }
    }
    Ok(())
}

/// Delete the users the bench created in a tenant (one statement per prefix, so the trigram
/// index on `user_name_key` serves the LIKE).
pub async fn delete_created(conn: &mut AsyncPgConnection, tenant: Uuid) -> anyhow::Result<usize> {
    let mut n = 0;
    for prefix in CREATED_PREFIXES {
        n += diesel::sql_query(format!(
            "DELETE FROM users WHERE tenant_id = $1 AND user_name_key LIKE '{prefix}%'"
        ))
        .bind::<SqlUuid, _>(tenant)
        .execute(conn)
        .await?;
    }
    Ok(n)
}

/// Delete the memberships added after the load.
pub async fn delete_added_memberships(conn: &mut AsyncPgConnection, tenant: Uuid) -> anyhow::Result<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM group_members gm USING bench_cost_meta m \
         WHERE m.slug = $2 AND gm.tenant_id = $1 AND gm.created_at > m.loaded_at",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<Text, _>(MAIN)
    .execute(conn)
    .await?)
}

/// Ids of generated users `indexes` (1-based) of a tenant, in the given order.
pub async fn user_ids(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    indexes: &[u64],
) -> anyhow::Result<Vec<Uuid>> {
    let idx: Vec<i64> = indexes.iter().map(|&i| i as i64).collect();
    let rows: Vec<IdRow> = diesel::sql_query(format!(
        "SELECT u.id FROM unnest($2::bigint[]) WITH ORDINALITY AS g(i, o) \
         JOIN users u ON u.tenant_id = $1 AND u.id = {} ORDER BY g.o",
        user_id_sql("g.i")
    ))
    .bind::<SqlUuid, _>(tenant)
    .bind::<Array<BigInt>, _>(&idx)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() == indexes.len(), "asked for {} users, found {}", indexes.len(), rows.len());
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Ids and `active` of generated users 1..=n of a tenant (index i at position i-1).
pub async fn first_users(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    n: u64,
) -> anyhow::Result<Vec<(Uuid, bool)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Bool)]
        active: bool,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT id, active FROM users WHERE tenant_id = $1 AND id <= {} ORDER BY id",
        user_id_sql(&format!("{n}::bigint"))
    ))
    .bind::<SqlUuid, _>(tenant)
    .load(conn)
    .await?;
    anyhow::ensure!(rows.len() as u64 == n, "expected {n} generated users, found {}", rows.len());
    Ok(rows.into_iter().map(|r| (r.id, r.active)).collect())
}

/// Refuse a reused database whose applied migrations differ from the files. diesel records only
/// a migration's version, so a migration edited after it ran on a bench database leaves that
/// database on the old text (function bodies included), and every number measured on it is of
/// code the repository no longer has. Each migration's `up.sql` digest is recorded the first
/// time the bench sees it applied, and compared on every later run.
pub async fn check_migrations_unchanged(url: &str) -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = Text)]
        version: String,
        #[diesel(sql_type = Text)]
        digest: String,
    }
    let mut conn = connect_for_load(url).await?;
    exec(
        &mut conn,
        "CREATE TABLE IF NOT EXISTS bench_migrations (version text PRIMARY KEY, digest text NOT NULL)",
    )
    .await?;
    let recorded: Vec<Recorded> =
        diesel::sql_query("SELECT version, digest FROM bench_migrations").load(&mut conn).await?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut changed = Vec::new();
    let mut fresh = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        let Ok(text) = std::fs::read(path.join("up.sql")) else { continue };
        let version: String = name.chars().filter(char::is_ascii_digit).take(14).collect();
        let digest = format!("{:x}", Sha256::digest(&text));
        match recorded.iter().find(|r| r.version == version) {
            Some(r) if r.digest != digest => changed.push(name),
            Some(_) => {}
            None => fresh.push((version, digest)),
        }
    }
    if !changed.is_empty() {
        changed.sort();
        anyhow::bail!(
            "this bench database ran an earlier text of {}: diesel does not apply an edited migration \
             again, so its functions are not the repository's. Drop the database (or pass another \
             --database) and run again",
            changed.join(", ")
        );
    }
    for (version, digest) in fresh {
        diesel::sql_query("INSERT INTO bench_migrations (version, digest) VALUES ($1, $2)")
            .bind::<Text, _>(version)
            .bind::<Text, _>(digest)
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
