//! The typed filter and PATCH-path AST (RFC 7644 §3.4.2.2, §3.5.2) that the rest of Roster sees.
//! The parser behind it is an implementation detail of `scim::filter`.

use serde_json::Number;

/// An attribute path as written: optional schema URN, attribute name, optional sub-attribute.
/// Names keep the client's spelling; resolving them (case-insensitively) against the schema
/// registry is the job of whoever executes the filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` in
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    pub urn: Option<String>,
    /// The attribute name (`manager`).
    pub name: String,
    /// The sub-attribute name (`value`).
    pub sub: Option<String>,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// less than
    Lt,
    /// less than or equal
    Le,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator's keyword, lower case (matched case-insensitively in filters).
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// A JSON string (escapes already decoded).
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare {
        /// Left-hand attribute.
        path: AttrPath,
        /// Operator.
        op: CompareOp,
        /// Right-hand literal.
        value: CompValue,
    },
    /// `emails[type eq "work" and value co "@x"]`: true when one element of the multi-valued
    /// attribute `path` (which has no `sub`) satisfies `filter`. Paths inside `filter` are
    /// relative to the element: `name` is the sub-attribute, `urn` and `sub` are `None`.
    /// The form `emails[type eq "work"].value eq "x"` (sent by IdPs, outside the strict
    /// grammar) is parsed as `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The condition on one element.
        filter: Box<Filter>,
    },
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
}

/// The `path` of a PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `userName`, `name.givenName`, `urn:...:User:manager`, `urn:...:User:manager.value`.
    Attr(AttrPath),
    /// `emails[type eq "work"]` or, with `sub`, `emails[type eq "work"].value`.
    Filtered {
        /// The multi-valued attribute (no `sub`).
        path: AttrPath,
        /// Which elements (paths relative to the element, as in [`Filter::ValuePath`]).
        filter: Filter,
        /// The sub-attribute of the matching elements, if any.
        sub: Option<String>,
    },
}
