//! The attribute and schema model of RFC 7643 §2 and §7.

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A JSON number (may have a fraction).
    Decimal,
    /// A JSON number without a fraction.
    Integer,
    /// An xsd:dateTime string.
    DateTime,
    /// A base64-encoded string.
    Binary,
    /// A URI string.
    Reference,
    /// A JSON object of sub-attributes.
    Complex,
}

impl AttrType {
    /// The wire spelling used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Whether and how an attribute may be changed (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the server only; client values are ignored.
    ReadOnly,
    /// May be updated and read at any time.
    ReadWrite,
    /// May be set on creation or replacement, never changed afterwards.
    Immutable,
    /// May be set, never returned.
    WriteOnly,
}

impl Mutability {
    /// The wire spelling used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned in a response (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded or another set of attributes is requested.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The wire spelling used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How unique a value must be (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No uniqueness requirement.
    None,
    /// Unique within this service provider (tenant).
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The wire spelling used in schema documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// The longest value a string, reference or binary attribute accepts: Roster's limits, so that
/// every accepted value can be stored and indexed (RFC 7643 sets none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    /// Most characters (Unicode scalar values).
    pub chars: usize,
    /// Most bytes of UTF-8, of the value and of its case-folded form, for values kept in a
    /// btree index (PostgreSQL refuses index rows over about 2,700 bytes); `None`: only `chars`.
    pub bytes: Option<usize>,
}

impl TextLimit {
    /// Any string attribute without a tighter limit.
    pub const GENERAL: TextLimit = TextLimit { chars: 16_384, bytes: None };
    /// Identity attributes kept in unique or lookup indexes: `userName`, `externalId`, Group
    /// `displayName`, `emails.value`.
    pub const IDENTITY: TextLimit = TextLimit { chars: 1_024, bytes: Some(2_048) };
    /// `title`, which names the member's position (positions hold at most 200 characters).
    pub const POSITION: TextLimit = TextLimit { chars: 200, bytes: None };

    /// How the limit reads in a schema description, e.g. `At most 1024 characters (2048 bytes).`
    pub fn describe(self) -> String {
        match self.bytes {
            Some(b) => format!("Roster accepts at most {} characters ({b} bytes of UTF-8).", self.chars),
            None => format!("Roster accepts at most {} characters.", self.chars),
        }
    }
}

/// One attribute definition (RFC 7643 §7), built from `'static` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// Canonical spelling of the attribute name.
    pub name: &'static str,
    /// Data type.
    pub ty: AttrType,
    /// Whether the value is an array.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: &'static str,
    /// Whether a value must be present.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// Mutability.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// Uniqueness requirement.
    pub uniqueness: Uniqueness,
    /// Suggested (or, if `canonical_closed`, the only allowed) values.
    pub canonical_values: &'static [&'static str],
    /// Whether `canonical_values` is a closed set enforced by [`normalize`](super::normalize) (not an RFC field).
    pub canonical_closed: bool,
    /// Resource types a reference may point to (`"User"`, `"external"`, `"uri"`, ...).
    pub reference_types: &'static [&'static str],
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [Attribute],
    /// The longest accepted value (string, reference and binary attributes; not an RFC field).
    pub limit: TextLimit,
}

impl Attribute {
    /// A single-valued, optional, case-insensitive readWrite attribute returned by default.
    pub const fn new(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Attribute {
            name,
            ty,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            canonical_closed: false,
            reference_types: &[],
            sub_attributes: &[],
            limit: TextLimit::GENERAL,
        }
    }
    /// Makes the attribute multi-valued.
    pub const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Makes the attribute required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Makes string comparisons case-sensitive.
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets the mutability.
    pub const fn with_mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }
    /// Shorthand for `with_mutability(Mutability::ReadOnly)`.
    pub const fn read_only(self) -> Self {
        self.with_mutability(Mutability::ReadOnly)
    }
    /// Sets when the attribute is returned.
    pub const fn with_returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }
    /// Sets the uniqueness.
    pub const fn with_uniqueness(mut self, uniqueness: Uniqueness) -> Self {
        self.uniqueness = uniqueness;
        self
    }
    /// Sets advisory canonical values.
    pub const fn with_canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    /// Sets canonical values that are the only ones allowed (matched case-insensitively).
    pub const fn with_closed_canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self.canonical_closed = true;
        self
    }
    /// Sets the reference types of a reference attribute.
    pub const fn with_reference_types(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    /// Sets the sub-attributes of a complex attribute.
    pub const fn with_sub_attributes(mut self, subs: &'static [Attribute]) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// Sets the longest accepted value.
    pub const fn with_limit(mut self, limit: TextLimit) -> Self {
        self.limit = limit;
        self
    }

    /// The sub-attribute with this name, case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes, name)
    }
}

/// A schema (RFC 7643 §7): a URN and its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The schema URN.
    pub id: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Human-readable description.
    pub description: &'static str,
    /// Top-level attributes (common attributes excluded).
    pub attributes: &'static [Attribute],
}

impl Schema {
    /// The top-level attribute with this name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes, name)
    }
}

/// Finds an attribute by name, ASCII case-insensitively.
pub(super) fn find(attrs: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}
