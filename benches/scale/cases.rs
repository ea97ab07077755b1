//! The measured cases: the HTTP request, the SQL Roster runs for it (built with Roster's own
//! filter translator and the statement shape of `db::search`), timing and statistics.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::common::{self, ms, pct, Http};
use roster::db::filter_sql::{Bind, Sql, Translator};
use roster::db::groups::GroupRow;
use roster::db::users::{self, UserRow};
use roster::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use roster::scim::schema::{Registry, ResourceKind};

/// One SQL statement with its bind parameters.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// SQL text with `$n` placeholders.
    pub sql: String,
    /// Parameters.
    pub binds: Vec<Bind>,
}

impl Stmt {
    fn query(&self) -> diesel::query_builder::BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(self.sql.clone()).into_boxed::<Pg>();
        for b in &self.binds {
            q = match b.clone() {
                Bind::Text(s) => q.bind::<Text, _>(s),
                Bind::TextArray(v) => q.bind::<Array<Text>, _>(v),
                Bind::Uuid(u) => q.bind::<SqlUuid, _>(u),
            };
        }
        q
    }

    /// The statement with its parameters written as literals (for EXPLAIN and for printing).
    pub fn inlined(&self) -> String {
        let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let mut sql = self.sql.clone();
        // Highest placeholder first, so `$1` does not clobber `$10`.
        for (i, b) in self.binds.iter().enumerate().rev() {
            let value = match b {
                Bind::Text(s) => lit(s),
                Bind::Uuid(u) => format!("'{u}'::uuid"),
                Bind::TextArray(v) => {
                    let items: Vec<String> = v.iter().map(|s| lit(s)).collect();
                    format!("ARRAY[{}]", items.join(", "))
                }
            };
            sql = sql.replace(&format!("${}", i + 1), &value);
        }
        sql
    }
}

/// What the database does for one request, as Roster does it.
#[derive(Debug, Clone)]
pub struct Raw {
    /// `totalResults` (list requests).
    pub count: Option<Stmt>,
    /// The page or the single resource.
    pub page: Stmt,
    /// Users: the rows are members, so the page is followed by `groups_of` (Roster attaches the
    /// effective groups unless `groups` is excluded).
    pub users: bool,
    /// Tenant (for `groups_of`).
    pub tenant: Uuid,
}

/// Which rows of the id-ordered result a list request reads.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// `startIndex`/`count`.
    Offset {
        /// startIndex - 1.
        offset: i64,
        /// count.
        limit: i64,
    },
    /// `cursor`/`count`: rows after the boundary id, count + 1 of them.
    After {
        /// Boundary id; `None` for the first page.
        id: Option<Uuid>,
        /// count.
        count: i64,
    },
}

const USER_SELECT: &str =
    "r.id, r.resource, r.status, r.password_hash, r.version, r.created_at, r.last_modified";
const GROUP_SELECT: &str = "r.id, r.resource, r.parent_id, r.version, r.created_at, r.last_modified";

/// The count and page statements of a list request without `sortBy`, exactly as
/// `roster::db::search::build` writes them (the WHERE clause comes from Roster's translator).
pub fn list_sql(
    registry: &Registry,
    kind: ResourceKind,
    tenant: Uuid,
    filter: Option<&Filter>,
    window: Window,
) -> anyhow::Result<Raw> {
    let (table, visible, select) = match kind {
        ResourceKind::User => ("users", " AND r.status <> 'removed'", USER_SELECT),
        ResourceKind::Group => ("groups", "", GROUP_SELECT),
    };
    let mut sql = Sql::default();
    let t = sql.bind(Bind::Uuid(tenant));
    let mut conditions = format!("r.tenant_id = {t}{visible}");
    if let Some(f) = filter {
        let cond = Translator::new(registry, kind, &mut sql)
            .filter(f)
            .map_err(|e| anyhow::anyhow!("translating {f:?}: {}", e.detail()))?;
        conditions.push_str(&format!(" AND {cond}"));
    }
    let count = Stmt {
        sql: format!("SELECT count(*) AS n FROM {table} r WHERE {conditions}"),
        binds: sql.binds.clone(),
    };
    let (limit, offset) = match window {
        Window::Offset { offset, limit } => (limit, Some(offset)),
        Window::After { id, count } => {
            if let Some(id) = id {
                let p = sql.bind(Bind::Uuid(id));
                conditions.push_str(&format!(" AND r.id > {p}"));
            }
            (count + 1, None)
        }
    };
    let l = sql.bind(Bind::Text(limit.to_string()));
    let mut page = format!(
        "SELECT {select}, NULL::text AS sort_key FROM {table} r WHERE {conditions} ORDER BY r.id ASC LIMIT {l}::bigint"
    );
    if let Some(o) = offset {
        let o = sql.bind(Bind::Text(o.to_string()));
        page.push_str(&format!(" OFFSET {o}::bigint"));
    }
    Ok(Raw {
        count: Some(count),
        page: Stmt { sql: page, binds: sql.binds },
        users: kind == ResourceKind::User,
        tenant,
    })
}

/// GET /Groups/{id} with `excludedAttributes=members`: one row by primary key.
pub fn group_get_sql(tenant: Uuid, id: Uuid) -> Raw {
    Raw {
        count: None,
        page: Stmt {
            sql: format!("SELECT {GROUP_SELECT} FROM groups r WHERE r.tenant_id = $1 AND r.id = $2"),
            binds: vec![Bind::Uuid(tenant), Bind::Uuid(id)],
        },
        users: false,
        tenant,
    }
}

/// An attribute path.
pub fn path(name: &str) -> AttrPath {
    AttrPath { urn: None, name: name.into(), sub: None }
}

/// `name op "value"`.
pub fn cmp(name: &str, op: CompareOp, value: &str) -> Filter {
    Filter::Compare { path: path(name), op, value: CompValue::String(value.into()) }
}

/// `emails[type eq "work"].value eq "x"` as Roster's parser reads it.
pub fn work_email(value: &str) -> Filter {
    Filter::ValuePath {
        path: path("emails"),
        filter: Box::new(Filter::And(
            Box::new(cmp("type", CompareOp::Eq, "work")),
            Box::new(cmp("value", CompareOp::Eq, value)),
        )),
    }
}

/// `id eq "g" and members[value eq "u"]`.
pub fn membership(group: Uuid, user: Uuid) -> Filter {
    Filter::And(
        Box::new(cmp("id", CompareOp::Eq, &group.to_string())),
        Box::new(Filter::ValuePath {
            path: path("members"),
            filter: Box::new(cmp("value", CompareOp::Eq, &user.to_string())),
        }),
    )
}

/// What a response must show for the run to count.
#[derive(Debug, Clone)]
pub enum Check {
    /// A ListResponse with exactly this totalResults (and at least one resource when > 0).
    Total(u64),
    /// A ListResponse with at least this many results and `count` resources at most.
    AtLeast(u64),
    /// A ListResponse whose first resource has this id, with a full page and a nextCursor.
    FirstId(Uuid),
    /// A cursor page of this many resources with a nextCursor.
    CursorPage(usize),
    /// A resource with this id and no `members`.
    Resource(Uuid),
}

impl Check {
    /// Verify a 200 response body.
    pub fn verify(&self, body: &Value) -> anyhow::Result<()> {
        let total = body.get("totalResults").and_then(Value::as_u64);
        let resources = body.get("Resources").and_then(Value::as_array).map_or(0, Vec::len);
        let first_id = body.pointer("/Resources/0/id").and_then(Value::as_str);
        let ok = match self {
            Check::Total(n) => total == Some(*n) && (resources > 0) == (*n > 0),
            Check::AtLeast(n) => total.is_some_and(|t| t >= *n) && resources > 0,
            Check::FirstId(id) => first_id == Some(id.to_string().as_str()) && resources > 0,
            Check::CursorPage(n) => resources == *n && body.get("nextCursor").is_some(),
            Check::Resource(id) => {
                body.get("id").and_then(Value::as_str) == Some(id.to_string().as_str())
                    && body.get("members").is_none()
            }
        };
        anyhow::ensure!(ok, "unexpected response for {self:?}: totalResults {total:?}, {resources} resources, first id {first_id:?}");
        Ok(())
    }
}

/// One request of a case.
#[derive(Debug, Clone)]
pub struct Step {
    /// Path under the SCIM base URL (`/Users`, `/Groups/{id}`).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// The SQL side.
    pub raw: Raw,
    /// Response check.
    pub check: Check,
}

/// A named case: warm-up and timed steps, cycling through `steps`.
#[derive(Debug)]
pub struct Case {
    /// Row label.
    pub name: String,
    /// Steps, one per request (warm-up first).
    pub steps: Vec<Step>,
    /// Whether it is an IdP filter (its plan is EXPLAINed).
    pub explain: bool,
}

/// Medians and tails of one case.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Row label.
    pub name: String,
    /// Timed requests.
    pub n: usize,
    /// Roster round trips, ms, sorted.
    pub roster: Vec<f64>,
    /// The whole SQL side (count + page + groups_of), ms, sorted.
    pub raw: Vec<f64>,
    /// The count(*) part, ms, sorted.
    pub raw_count: Vec<f64>,
    /// The groups_of part, ms, sorted.
    pub raw_groups: Vec<f64>,
    /// GET /healthz, ms, sorted.
    pub http: Vec<f64>,
    /// Whether the time budget cut the case short.
    pub cut: bool,
}

impl Measured {
    /// Median Roster latency.
    pub fn p50(&self) -> f64 {
        pct(&self.roster, 50.0)
    }
    /// Roster / (raw SQL + minimal HTTP), on medians.
    pub fn ratio(&self) -> f64 {
        self.p50() / (pct(&self.raw, 50.0) + pct(&self.http, 50.0))
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Timings of the SQL side of one request.
pub struct RawRun {
    /// Everything.
    pub total: Duration,
    /// The count(*) statement.
    pub count: Duration,
    /// `groups_of` for the page's users.
    pub groups: Duration,
    /// What the count statement counted.
    pub counted: Option<u64>,
}

/// Run the SQL side of one request.
pub async fn run_raw(conn: &mut AsyncPgConnection, raw: &Raw) -> anyhow::Result<RawRun> {
    let start = Instant::now();
    let mut count_time = Duration::ZERO;
    let mut groups_time = Duration::ZERO;
    let mut total = None;
    if let Some(c) = &raw.count {
        let counted: Count = c.query().get_result(conn).await.context("raw count")?;
        count_time = start.elapsed();
        total = Some(u64::try_from(counted.n)?);
    }
    if raw.users {
        let rows: Vec<UserRow> = raw.page.query().load(conn).await.context("raw page")?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        if !ids.is_empty() {
            let g = Instant::now();
            users::groups_of(conn, raw.tenant, &ids).await.context("raw groups_of")?;
            groups_time = g.elapsed();
        }
    } else {
        let _: Vec<GroupRow> = raw.page.query().load(conn).await.context("raw page")?;
    }
    Ok(RawRun { total: start.elapsed(), count: count_time, groups: groups_time, counted: total })
}

/// Run a case: per step GET /healthz, the Roster request, then the SQL side, all sequential.
pub async fn measure(
    case: &Case,
    http: &Http,
    conn: &mut AsyncPgConnection,
    warmup: usize,
    budget: Duration,
) -> anyhow::Result<Measured> {
    let mut m = Measured {
        name: case.name.clone(),
        n: 0,
        roster: Vec::new(),
        raw: Vec::new(),
        raw_count: Vec::new(),
        raw_groups: Vec::new(),
        http: Vec::new(),
        cut: false,
    };
    let mut timed_start = None;
    for (k, step) in case.steps.iter().enumerate() {
        if k == warmup {
            timed_start = Some(Instant::now());
        }
        if let Some(t) = timed_start {
            if t.elapsed() > budget && m.n >= 30 {
                m.cut = true;
                break;
            }
        }
        let h = http.healthz().await?;
        let (d, status, body) = http.get(&step.path, &step.query).await?;
        anyhow::ensure!(
            status == 200,
            "{}: GET {} {:?} answered {status}: {}",
            case.name,
            step.path,
            step.query,
            String::from_utf8_lossy(&body)
        );
        let json: Value = serde_json::from_slice(&body)?;
        step.check
            .verify(&json)
            .with_context(|| format!("{}: GET {} {:?}", case.name, step.path, step.query))?;
        let raw = run_raw(conn, &step.raw).await?;
        let shown = json.get("totalResults").and_then(Value::as_u64);
        let total = raw.counted;
        anyhow::ensure!(
            total.is_none() || shown == total,
            "{}: Roster says totalResults {shown:?}, the raw SQL counts {total:?}",
            case.name
        );
        if k >= warmup {
            m.n += 1;
            m.roster.push(ms(d));
            m.raw.push(ms(raw.total));
            m.raw_count.push(ms(raw.count));
            m.raw_groups.push(ms(raw.groups));
            m.http.push(ms(h));
        }
    }
    for v in [&mut m.roster, &mut m.raw, &mut m.raw_count, &mut m.raw_groups, &mut m.http] {
        v.sort_by(f64::total_cmp);
    }
    Ok(m)
}

/// EXPLAIN (ANALYZE, BUFFERS) of a statement with its parameters inlined as literals (what a
/// custom plan sees).
pub async fn explain(conn: &mut AsyncPgConnection, stmt: &Stmt) -> anyhow::Result<Vec<String>> {
    common::explain(conn, &stmt.inlined()).await
}
