//! The core User schema, RFC 7643 §8.7.1.

use super::{boolean, complex, reference, string};
use crate::scim::schema::{
    AttrType, Attribute, Mutability, Returned, Schema, TextLimit, Uniqueness, USER_SCHEMA,
};

const PRIMARY: &str = "A Boolean value indicating the 'primary' or preferred attribute value \
                       for this attribute. The primary attribute value 'true' MUST appear no \
                       more than once.";

const NAME_SUBS: &[Attribute] = &[
    string(
        "formatted",
        "The full name, including all middle names, titles, and suffixes as appropriate, \
         formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
    ),
    string(
        "familyName",
        "The family name of the User, or last name in most Western languages (e.g., 'Jensen' \
         given the full name 'Ms. Barbara J Jensen, III').",
    ),
    string(
        "givenName",
        "The given name of the User, or first name in most Western languages (e.g., 'Barbara' \
         given the full name 'Ms. Barbara J Jensen, III').",
    ),
    string(
        "middleName",
        "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J \
         Jensen, III').",
    ),
    string(
        "honorificPrefix",
        "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' \
         given the full name 'Ms. Barbara J Jensen, III').",
    ),
    string(
        "honorificSuffix",
        "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' \
         given the full name 'Ms. Barbara J Jensen, III').",
    ),
];

const EMAIL_SUBS: &[Attribute] = &[
    string(
        "value",
        "Email addresses for the user. The value SHOULD be canonicalized by the service \
         provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type \
         values of 'work', 'home', and 'other'.",
    )
    .with_limit(TextLimit::IDENTITY),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function, e.g., 'work' or 'home'.")
        .with_canonical(&["work", "home", "other"]),
    boolean("primary", PRIMARY),
];

const PHONE_SUBS: &[Attribute] = &[
    string("value", "Phone number of the User."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.")
        .with_canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this \
         attribute, e.g., the preferred phone number or primary phone number. The primary \
         attribute value 'true' MUST appear no more than once.",
    ),
];

const IM_SUBS: &[Attribute] = &[
    string("value", "Instant messaging address for the User."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.")
        .with_canonical(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this \
         attribute, e.g., the preferred messenger or primary messenger. The primary attribute \
         value 'true' MUST appear no more than once.",
    ),
];

const PHOTO_SUBS: &[Attribute] = &[
    reference("value", &["external"], "URL of a photo of the User."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.")
        .with_canonical(&["photo", "thumbnail"]),
    boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this \
         attribute, e.g., the preferred photo or thumbnail. The primary attribute value 'true' \
         MUST appear no more than once.",
    ),
];

const ADDRESS_SUBS: &[Attribute] = &[
    string(
        "formatted",
        "The full mailing address, formatted for display or use with a mailing label. This \
         attribute MAY contain newlines.",
    ),
    string(
        "streetAddress",
        "The full street address component, which may include house number, street name, P.O. \
         box, and multi-line extended street address information. This attribute MAY contain \
         newlines.",
    ),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string("type", "A label indicating the attribute's function, e.g., 'work' or 'home'.")
        .with_canonical(&["work", "home", "other"]),
    boolean("primary", PRIMARY),
];

const GROUP_MEMBERSHIP_SUBS: &[Attribute] = &[
    string("value", "The identifier of the User's group.").read_only(),
    reference(
        "$ref",
        &["User", "Group"],
        "The URI of the corresponding 'Group' resource to which the user belongs.",
    )
    .read_only(),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY.").read_only(),
    string("type", "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.")
        .read_only()
        .with_canonical(&["direct", "indirect"]),
];

const ENTITLEMENT_SUBS: &[Attribute] = &[
    string("value", "The value of an entitlement."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function."),
    boolean("primary", PRIMARY),
];

const ROLE_SUBS: &[Attribute] = &[
    string("value", "The value of a role."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function."),
    boolean("primary", PRIMARY),
];

const CERTIFICATE_SUBS: &[Attribute] = &[
    Attribute::new("value", AttrType::Binary, "The value of an X.509 certificate."),
    string("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
    string("type", "A label indicating the attribute's function."),
    boolean("primary", PRIMARY),
];

const USER_ATTRS: &[Attribute] = &[
    string(
        "userName",
        "Unique identifier for the User, typically used by the user to directly authenticate to \
         the service provider. Each User MUST include a non-empty userName value. This \
         identifier MUST be unique across the service provider's entire set of Users. REQUIRED.",
    )
    .required()
    .with_uniqueness(Uniqueness::Server)
    .with_limit(TextLimit::IDENTITY),
    complex(
        "name",
        NAME_SUBS,
        "The components of the user's real name. Providers MAY return just the full name as a \
         single string in the formatted sub-attribute, or they MAY return just the individual \
         component attributes using the other sub-attributes, or they MAY return both.",
    ),
    string(
        "displayName",
        "The name of the User, suitable for display to end-users. The name SHOULD be the full \
         name of the User being described, if known.",
    ),
    string(
        "nickName",
        "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of \
         'Robert'.",
    ),
    reference(
        "profileUrl",
        &["external"],
        "A fully qualified URL pointing to a page representing the User's online profile.",
    ),
    string("title", "The user's title, such as \"Vice President.\"").with_limit(TextLimit::POSITION),
    string(
        "userType",
        "Used to identify the relationship between the organization and the user. Typical \
         values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and \
         'Unknown', but any value may be used.",
    ),
    string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language. Generally used for selecting \
         a localized user interface; e.g., 'en_US' specifies the language English and country \
         US.",
    ),
    string(
        "locale",
        "Used to indicate the User's default location for purposes of localizing items such as \
         currency, date time format, or numerical representations.",
    ),
    string(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format, e.g., \
         'America/Los_Angeles'.",
    ),
    boolean("active", "A Boolean value indicating the User's administrative status."),
    string(
        "password",
        "The User's cleartext password. This attribute is intended to be used as a means to \
         specify an initial password when creating a new User or to reset an existing User's \
         password.",
    )
    .with_mutability(Mutability::WriteOnly)
    .with_returned(Returned::Never),
    complex("emails", EMAIL_SUBS, "Email addresses for the user.").multi(),
    complex("phoneNumbers", PHONE_SUBS, "Phone numbers for the User.").multi(),
    complex("ims", IM_SUBS, "Instant messaging addresses for the User.").multi(),
    complex("photos", PHOTO_SUBS, "URLs of photos of the User.").multi(),
    complex(
        "addresses",
        ADDRESS_SUBS,
        "A physical mailing address for this User. Canonical type values of 'work', 'home', and \
         'other'.",
    )
    .multi(),
    complex(
        "groups",
        GROUP_MEMBERSHIP_SUBS,
        "A list of groups to which the user belongs, either through direct membership, through \
         nested groups, or dynamically calculated.",
    )
    .multi()
    .read_only(),
    complex(
        "entitlements",
        ENTITLEMENT_SUBS,
        "A list of entitlements for the User that represent a thing the User has.",
    )
    .multi(),
    complex(
        "roles",
        ROLE_SUBS,
        "A list of roles for the User that collectively represent who the User is, e.g., \
         'Student', 'Faculty'.",
    )
    .multi(),
    complex("x509Certificates", CERTIFICATE_SUBS, "A list of certificates issued to the User.").multi(),
];

/// The core User schema (RFC 7643 §4.1).
pub(crate) const USER: Schema =
    Schema { id: USER_SCHEMA, name: "User", description: "User Account", attributes: USER_ATTRS };
