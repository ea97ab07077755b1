//! The admin API's members view: members with their role, position, origin, category values
//! and invitation state, filtered and keyset-paged in one query per page.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bool, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::Conn;

/// The URN under which category values live in a member's resource.
pub const ROSTER_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

/// Which members to list. Every `Some` narrows the list; `None` / `false` does not.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Exactly this member (any status, removed included).
    pub id: Option<Uuid>,
    /// This status; without it (and without `id`) removed members are left out.
    pub status: Option<String>,
    /// This effective role (catalog name).
    pub role: Option<String>,
    /// Effective members of this group (direct or through groups below it).
    pub group: Option<Uuid>,
    /// Never invited.
    pub never_invited: bool,
    /// Never logged in.
    pub never_logged_in: bool,
    /// This origin (`scim`, `import`, `admin`).
    pub origin: Option<String>,
    /// A prefix of userName, displayName, givenName, familyName or email (caseless).
    pub prefix: Option<String>,
    /// This position (caseless name).
    pub position: Option<String>,
    /// This value of this category (the category's name as defined, the value as text).
    pub category: Option<(String, String)>,
    /// Only members after this id (the previous page's last).
    pub after: Option<Uuid>,
    /// At most this many.
    pub limit: i64,
}

/// One member as the admin API shows it (groups are read separately, one query per page).
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberView {
    /// Member id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// userName.
    #[diesel(sql_type = Text)]
    pub user_name: String,
    /// displayName.
    #[diesel(sql_type = Nullable<Text>)]
    pub display_name: Option<String>,
    /// name.givenName.
    #[diesel(sql_type = Nullable<Text>)]
    pub given_name: Option<String>,
    /// name.familyName.
    #[diesel(sql_type = Nullable<Text>)]
    pub family_name: Option<String>,
    /// Primary email.
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    /// externalId.
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    /// Lifecycle status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// SCIM `active`.
    #[diesel(sql_type = Bool)]
    pub active: bool,
    /// The materialised effective role.
    #[diesel(sql_type = Nullable<Text>)]
    pub effective_role: Option<String>,
    /// The admin override, when one is set (it is the effective role).
    #[diesel(sql_type = Nullable<Text>)]
    pub role_override: Option<String>,
    /// Where the effective role comes from: `override`, `scim`, `group:<name>`, `import` or
    /// `default` (`roster_role_source`, migration 000016).
    #[diesel(sql_type = Nullable<Text>)]
    pub role_source: Option<String>,
    /// The position's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub position: Option<String>,
    /// `scim`, `import` or `admin`.
    #[diesel(sql_type = Text)]
    pub origin: String,
    /// The import identity key.
    #[diesel(sql_type = Nullable<Text>)]
    pub personal_id: Option<String>,
    /// Free-text comment.
    #[diesel(sql_type = Nullable<Text>)]
    pub comment: Option<String>,
    /// The object under Roster's User extension (category values), when present.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub categories: Option<Value>,
    /// Invitations sent.
    #[diesel(sql_type = Integer)]
    pub invitation_count: i32,
    /// Last invitation.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_invited_at: Option<DateTime<Utc>>,
    /// First login.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub joined_at: Option<DateTime<Utc>>,
    /// Last login.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_login_at: Option<DateTime<Utc>>,
}

/// `value` as a LIKE prefix pattern, its wildcards escaped (escape character `\`).
fn like_prefix(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 1);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Members of a tenant matching `q`, in id (creation) order, at most `q.limit`.
pub async fn list(conn: &mut Conn, tenant_id: Uuid, q: &MemberQuery) -> diesel::QueryResult<Vec<MemberView>> {
    let prefix = q.prefix.as_deref().map(|p| like_prefix(&p.trim().to_lowercase()));
    diesel::sql_query(
        "SELECT u.id, u.user_name, u.display_name, u.given_name, u.family_name, u.email, u.external_id, \
                u.status, u.active, u.effective_role, u.role_override, \
                roster_role_source(u.tenant_id, u.id) AS role_source, p.name AS position, u.origin, u.personal_id, u.comment, \
                u.resource -> 'urn:ietf:params:scim:schemas:extension:roster:2.0:User' AS categories, \
                u.invitation_count, u.last_invited_at, u.joined_at, u.last_login_at \
         FROM users u \
         LEFT JOIN positions p ON p.tenant_id = u.tenant_id AND p.id = u.position_id \
         WHERE u.tenant_id = $1 \
           AND ($2::uuid IS NULL OR u.id = $2) \
           AND CASE WHEN $3::text IS NULL THEN ($2::uuid IS NOT NULL OR u.status <> 'removed') \
                    ELSE u.status = $3 END \
           AND ($4::text IS NULL OR u.effective_role = $4) \
           AND ($5::uuid IS NULL OR u.id IN (SELECT e.member_id FROM roster_group_effective_members($1, $5) e)) \
           AND (NOT $6 OR u.invitation_count = 0) \
           AND (NOT $7 OR u.last_login_at IS NULL) \
           AND ($8::text IS NULL OR u.origin = $8) \
           AND ($9::text IS NULL OR u.user_name_key LIKE $9 ESCAPE '\\' \
                OR lower(u.display_name) LIKE $9 ESCAPE '\\' OR lower(u.given_name) LIKE $9 ESCAPE '\\' \
                OR lower(u.family_name) LIKE $9 ESCAPE '\\' OR lower(u.email) LIKE $9 ESCAPE '\\') \
           AND ($10::uuid IS NULL OR u.id > $10) \
           AND ($12::text IS NULL OR p.name_key = $12) \
           AND ($13::text IS NULL OR \
                (u.resource -> 'urn:ietf:params:scim:schemas:extension:roster:2.0:User' ->> $13) = $14) \
         ORDER BY u.id \
         LIMIT $11",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Nullable<SqlUuid>, _>(q.id)
    .bind::<Nullable<Text>, _>(q.status.as_deref())
    .bind::<Nullable<Text>, _>(q.role.as_deref())
    .bind::<Nullable<SqlUuid>, _>(q.group)
    .bind::<Bool, _>(q.never_invited)
    .bind::<Bool, _>(q.never_logged_in)
    .bind::<Nullable<Text>, _>(q.origin.as_deref())
    .bind::<Nullable<Text>, _>(prefix.as_deref())
    .bind::<Nullable<SqlUuid>, _>(q.after)
    .bind::<diesel::sql_types::BigInt, _>(q.limit)
    .bind::<Nullable<Text>, _>(q.position.as_deref().map(crate::scim::resource::fold_key))
    .bind::<Nullable<Text>, _>(q.category.as_ref().map(|c| c.0.as_str()))
    .bind::<Nullable<Text>, _>(q.category.as_ref().map(|c| c.1.as_str()))
    .load(conn)
    .await
}

/// A group a member manages (group role `manager`), or one below such a group: its scope.
#[derive(Debug, Clone, QueryableByName)]
pub struct ManagedGroup {
    /// The manager.
    #[diesel(sql_type = SqlUuid)]
    pub member_id: Uuid,
    /// The group.
    #[diesel(sql_type = SqlUuid)]
    pub group_id: Uuid,
    /// Its displayName.
    #[diesel(sql_type = Text)]
    pub display: String,
    /// The member is its manager directly (not through a group above it).
    #[diesel(sql_type = Bool)]
    pub direct: bool,
}

/// The groups the given members manage, with their scopes (`roster_managed_groups`), one query.
pub async fn managed_groups(
    conn: &mut Conn,
    tenant_id: Uuid,
    member_ids: &[Uuid],
) -> diesel::QueryResult<Vec<ManagedGroup>> {
    diesel::sql_query(
        "SELECT m.id AS member_id, g.group_id, g.display, g.direct \
         FROM unnest($2::uuid[]) AS m(id) CROSS JOIN LATERAL roster_managed_groups($1, m.id) AS g \
         ORDER BY m.id, g.display, g.group_id",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(member_ids)
    .load(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_escape_like_wildcards() {
        assert_eq!(like_prefix("ad"), "ad%");
        assert_eq!(like_prefix("a%_\\"), "a\\%\\_\\\\%");
    }
}
