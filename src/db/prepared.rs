//! Raw SQL that is prepared once per connection. Diesel never caches a `sql_query`'s prepared
//! statement (its text could be anything, so every call is parsed and planned again); a statement
//! wrapped in [`Prepared`] is cached by its text, like the query builder's own statements.
//!
//! Only for texts drawn from a small, fixed set (Roster's own SQL, chosen among a bounded number
//! of shapes): each distinct text stays prepared on every pooled connection for the
//! connection's life. A text built from what a client sent (a filter's shape) must not be
//! wrapped, or a client could fill every connection with statements.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// A query whose text is one of Roster's own, fixed ones: prepared once per connection.
#[derive(Debug)]
pub struct Prepared<Q>(pub Q);

impl<Q> QueryId for Prepared<Q> {
    // Cached by its text and bind types (diesel's key for statements without a static id).
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}
