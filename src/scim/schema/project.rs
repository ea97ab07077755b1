//! Output projection: `attributes`, `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5).

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;

use super::{strip_urn_prefix, AttrType, Attribute, Registry, ResourceKind, Returned};

/// A tree of requested (or excluded) attribute names, keyed by lowercase name.
#[derive(Debug, Default)]
struct Selection {
    /// The whole attribute (with its default sub-attributes) was named.
    whole: bool,
    /// Named sub-attributes (or, at the root, top-level attributes and extension URNs).
    children: HashMap<String, Selection>,
}

impl Selection {
    /// Adds the path `segments` (already lowercase) to the tree.
    fn add(&mut self, segments: &[String]) {
        match segments.split_first() {
            None => self.whole = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().add(rest),
        }
    }

    /// The selection for a child, by canonical name.
    fn child(&self, name: &str) -> Option<&Selection> {
        self.children.get(&name.to_ascii_lowercase())
    }
}

/// How one level of attributes is filtered.
#[derive(Clone, Copy)]
enum Mode<'s> {
    /// Neither list applies: `always` and `default` attributes.
    Default,
    /// Only the selected attributes plus `always` ones.
    Include(&'s Selection),
    /// `always` and `default` attributes minus the selected ones.
    Exclude(&'s Selection),
}

/// Builds the selection tree from attribute names; names of other schemas never match anything.
fn parse(registry: &Registry, kind: ResourceKind, names: &[String]) -> Selection {
    let mut root = Selection::default();
    for raw in names {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case(kind.core_schema()) {
            // The bare core URN selects every core attribute.
            for attr in registry.schema(kind.core_schema()).map(|s| s.attributes).unwrap_or_default() {
                root.add(&[attr.name.to_ascii_lowercase()]);
            }
            continue;
        }
        if let Some(urn) = registry.extension_urn(kind, name) {
            root.add(&[urn.to_ascii_lowercase()]);
            continue;
        }
        let mut segments: Vec<String> = Vec::new();
        let mut rest = name;
        if let Some(r) = strip_urn_prefix(name, kind.core_schema()) {
            rest = r;
        } else if let Some((urn, r)) =
            registry.extensions(kind).iter().find_map(|u| strip_urn_prefix(name, u).map(|r| (u, r)))
        {
            segments.push(urn.to_ascii_lowercase());
            rest = r;
        }
        segments.extend(rest.split('.').map(str::to_ascii_lowercase));
        root.add(&segments);
    }
    root
}

/// `attributes` and `excludedAttributes` of one request, parsed once for a resource type and
/// applied to each resource of a response while it is written ([`Projector::view`],
/// [`Projector::view_text`]).
pub struct Projector<'r> {
    registry: &'r Registry,
    kind: ResourceKind,
    included: Selection,
    excluded: Selection,
    which: Which,
}

/// Which list of a request applies (`attributes` wins).
#[derive(Clone, Copy)]
enum Which {
    Default,
    Include,
    Exclude,
}

impl<'r> Projector<'r> {
    /// Parse the two lists for `kind`; unknown names are ignored.
    pub fn new(
        registry: &'r Registry,
        kind: ResourceKind,
        attributes: &[String],
        excluded: &[String],
    ) -> Self {
        let which = if !attributes.is_empty() {
            Which::Include
        } else if !excluded.is_empty() {
            Which::Exclude
        } else {
            Which::Default
        };
        Projector {
            registry,
            kind,
            included: parse(registry, kind, attributes),
            excluded: parse(registry, kind, excluded),
            which,
        }
    }

    fn mode(&self) -> Mode<'_> {
        match self.which {
            Which::Default => Mode::Default,
            Which::Include => Mode::Include(&self.included),
            Which::Exclude => Mode::Exclude(&self.excluded),
        }
    }

    /// The mode of an extension's attributes under `mode`, or `None` when the extension is left
    /// out.
    fn extension_mode<'s>(mode: Mode<'s>, urn: &str) -> Option<Mode<'s>> {
        let child = selection_child(mode, urn);
        match (mode, child) {
            (Mode::Default, _) => Some(Mode::Default),
            (Mode::Include(_), None) => None,
            (Mode::Include(_), Some(c)) if c.whole => Some(Mode::Default),
            (Mode::Include(_), Some(c)) => Some(Mode::Include(c)),
            (Mode::Exclude(_), Some(c)) if c.whole => None,
            (Mode::Exclude(_), Some(c)) => Some(Mode::Exclude(c)),
            (Mode::Exclude(_), None) => Some(Mode::Default),
        }
    }

    /// `head`, then `body`, then `tail` (a stored resource's `schemas` and `id`, its attributes,
    /// its `meta`), projected as they are serialized (RFC 7644 §3.4.2.5: `attributes` wins over
    /// `excludedAttributes`; unknown names are ignored; attributes not in the schemas, and
    /// `returned: never` ones, are never written; key order is kept; a complex value left empty
    /// is not written), without building a projected copy. A key of `body` spelled as one of
    /// `head` or `tail` is left out (theirs is the value shown). Keys of `body` are expected
    /// canonical, one per attribute, as stored resources are: two spellings of one attribute
    /// would both be written.
    pub fn view<'a>(
        &'a self,
        head: &'a [(&'static str, Value)],
        body: &'a Map<String, Value>,
        tail: &'a [(&'static str, Value)],
    ) -> View<'a> {
        View { projector: self, head, body, tail }
    }

    /// How one top-level entry is written, if at all: its output name and its value.
    fn top<'a>(&'a self, key: &str, value: &'a Value) -> Option<(&'static str, Out<'a>)> {
        let (registry, kind, mode) = (self.registry, self.kind, self.mode());
        if key.eq_ignore_ascii_case("schemas") {
            return Some(("schemas", Out::Plain(value)));
        }
        if let Some(urn) = registry.extension_urn(kind, key) {
            let (Some(schema), Value::Object(obj)) = (registry.schema(urn), value) else {
                return None;
            };
            let sub_mode = Self::extension_mode(mode, urn)?;
            return keeps(schema.attributes, obj, sub_mode)
                .then_some((urn, Out::Map(schema.attributes, obj, sub_mode)));
        }
        let attr = registry.top_level(kind, key)?;
        out_attr(attr, value, mode).map(|o| (attr.name, o))
    }
    /// [`Projector::view`] of a resource whose stored attributes are JSON text (`body`, an
    /// object), which is never parsed into a tree: its values are written as stored (whitespace
    /// aside), and complex ones are read as text, key by key, only to project their
    /// sub-attributes. `schemas` comes first, as [`crate::scim::resource::render`] makes it: the
    /// core schema and each registered extension among the keys of `body` and `overrides`. Then
    /// `head`, `body` and `tail`; `overrides` take the place of the entries of `body` of the same
    /// name (as an insert into a map would), and follow its other entries when it has none.
    /// `body` not an object is read as empty.
    pub fn view_text<'a>(
        &'a self,
        head: &'a [(&'static str, Value)],
        body: &'a str,
        overrides: &'a [(&'static str, Value)],
        tail: &'a [(&'static str, Value)],
    ) -> TextView<'a> {
        TextView { projector: self, head, body, overrides, tail }
    }

    /// [`Projector::top`] for a value read as text.
    fn top_text<'a>(&'a self, key: &str, value: &'a RawValue) -> Option<(&'static str, TextOut<'a>)> {
        let (registry, kind, mode) = (self.registry, self.kind, self.mode());
        if key.eq_ignore_ascii_case("schemas") {
            return Some(("schemas", TextOut::Plain(value)));
        }
        if let Some(urn) = registry.extension_urn(kind, key) {
            let schema = registry.schema(urn)?;
            let obj = text_object(value)?;
            let sub_mode = Self::extension_mode(mode, urn)?;
            return text_keeps(schema.attributes, &obj, sub_mode)
                .then_some((urn, TextOut::Map(schema.attributes, obj, sub_mode)));
        }
        let attr = registry.top_level(kind, key)?;
        text_attr(attr, value, mode).map(|o| (attr.name, o))
    }
}

/// A resource projected while it is serialized ([`Projector::view`]).
pub struct View<'a> {
    projector: &'a Projector<'a>,
    head: &'a [(&'static str, Value)],
    body: &'a Map<String, Value>,
    tail: &'a [(&'static str, Value)],
}

impl serde::Serialize for View<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let named = |key: &str| self.head.iter().chain(self.tail).any(|(k, _)| *k == key);
        let entries = self
            .head
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(self.body.iter().filter(|(k, _)| !named(k)).map(|(k, v)| (k.as_str(), v)))
            .chain(self.tail.iter().map(|(k, v)| (*k, v)));
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in entries {
            if let Some((name, out)) = self.projector.top(key, value) {
                map.serialize_entry(name, &out)?;
            }
        }
        map.end()
    }
}

/// A value as a [`View`] writes it: as stored, or an object or array of objects whose
/// sub-attributes are projected.
enum Out<'a> {
    Plain(&'a Value),
    Map(&'static [Attribute], &'a Map<String, Value>, Mode<'a>),
    Items(&'static [Attribute], &'a [Value], Mode<'a>),
}

impl serde::Serialize for Out<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match *self {
            Out::Plain(value) => value.serialize(serializer),
            Out::Map(attrs, obj, mode) => {
                let mut map = serializer.serialize_map(None)?;
                for (key, value) in obj {
                    let Some(attr) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(key)) else {
                        continue;
                    };
                    if let Some(out) = out_attr(attr, value, mode) {
                        map.serialize_entry(attr.name, &out)?;
                    }
                }
                map.end()
            }
            Out::Items(attrs, items, mode) => {
                let mut seq = serializer.serialize_seq(None)?;
                for item in items {
                    if let Value::Object(obj) = item {
                        if keeps(attrs, obj, mode) {
                            seq.serialize_element(&Out::Map(attrs, obj, mode))?;
                        }
                    }
                }
                seq.end()
            }
        }
    }
}

/// A resource whose stored attributes are JSON text, projected while it is serialized
/// ([`Projector::view_text`]).
pub struct TextView<'a> {
    projector: &'a Projector<'a>,
    head: &'a [(&'static str, Value)],
    body: &'a str,
    overrides: &'a [(&'static str, Value)],
    tail: &'a [(&'static str, Value)],
}

/// One JSON object's entries as text, borrowed from the document (keys too, unless escaped).
struct TextObject<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// An object key, borrowed when it has no escape.
#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for TextObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = TextObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(TextObject(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The entries of `value` if it is an object.
fn text_object(value: &RawValue) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    if !value.get().starts_with('{') {
        return None;
    }
    serde_json::from_str::<TextObject<'_>>(value.get()).ok().map(|o| o.0)
}

impl serde::Serialize for TextView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let body = serde_json::from_str::<TextObject<'_>>(self.body).map(|o| o.0).unwrap_or_default();
        let named = |key: &str| key == "schemas" || self.head.iter().chain(self.tail).any(|(k, _)| *k == key);
        let mut used = vec![false; self.overrides.len()];
        let mut map = serializer.serialize_map(None)?;
        let kind = self.projector.kind;
        let present =
            |urn: &str| body.iter().any(|(k, _)| k == urn) || self.overrides.iter().any(|(k, _)| *k == urn);
        let schemas: Vec<&str> = std::iter::once(kind.core_schema())
            .chain(self.projector.registry.extensions(kind).iter().copied().filter(|urn| present(urn)))
            .collect();
        map.serialize_entry("schemas", &schemas)?;
        let owned = |map: &mut S::SerializeMap, key: &str, value: &Value| -> Result<(), S::Error> {
            if let Some((name, out)) = self.projector.top(key, value) {
                map.serialize_entry(name, &out)?;
            }
            Ok(())
        };
        for (key, value) in self.head {
            owned(&mut map, key, value)?;
        }
        for (key, value) in &body {
            if let Some(i) = self.overrides.iter().position(|(k, _)| *k == key) {
                used[i] = true;
                owned(&mut map, self.overrides[i].0, &self.overrides[i].1)?;
            } else if !named(key) {
                if let Some((name, out)) = self.projector.top_text(key, value) {
                    map.serialize_entry(name, &out)?;
                }
            }
        }
        for ((key, value), used) in self.overrides.iter().zip(used) {
            if !used {
                owned(&mut map, key, value)?;
            }
        }
        for (key, value) in self.tail {
            owned(&mut map, key, value)?;
        }
        map.end()
    }
}

/// A value as a [`TextView`] writes it: as stored, or an object or the objects of an array whose
/// sub-attributes are projected.
enum TextOut<'a> {
    Plain(&'a RawValue),
    Map(&'static [Attribute], Vec<(Cow<'a, str>, &'a RawValue)>, Mode<'a>),
    Items(&'static [Attribute], Vec<Vec<(Cow<'a, str>, &'a RawValue)>>, Mode<'a>),
}

impl serde::Serialize for TextOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self {
            TextOut::Plain(value) => value.serialize(serializer),
            TextOut::Map(attrs, obj, mode) => TextMap(attrs, obj, *mode).serialize(serializer),
            TextOut::Items(attrs, items, mode) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for obj in items {
                    seq.serialize_element(&TextMap(attrs, obj, *mode))?;
                }
                seq.end()
            }
        }
    }
}

/// An object read as text, its sub-attributes projected as it is written.
struct TextMap<'b, 'a>(&'static [Attribute], &'b [(Cow<'a, str>, &'a RawValue)], Mode<'a>);

impl serde::Serialize for TextMap<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let TextMap(attrs, obj, mode) = *self;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in obj {
            let Some(attr) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(key)) else {
                continue;
            };
            if let Some(out) = text_attr(attr, value, mode) {
                map.serialize_entry(attr.name, &out)?;
            }
        }
        map.end()
    }
}

/// [`out_attr`] for a value read as text.
fn text_attr<'a>(attr: &'static Attribute, value: &'a RawValue, mode: Mode<'a>) -> Option<TextOut<'a>> {
    let sub_mode = attr_mode(attr, mode)?;
    if attr.ty != AttrType::Complex {
        return Some(TextOut::Plain(value));
    }
    let text = value.get();
    if text.starts_with('{') {
        let obj = text_object(value)?;
        return text_keeps(attr.sub_attributes, &obj, sub_mode).then_some(TextOut::Map(
            attr.sub_attributes,
            obj,
            sub_mode,
        ));
    }
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
        let kept: Vec<_> = items
            .into_iter()
            .filter_map(text_object)
            .filter(|obj| text_keeps(attr.sub_attributes, obj, sub_mode))
            .collect();
        return (!kept.is_empty()).then_some(TextOut::Items(attr.sub_attributes, kept, sub_mode));
    }
    None
}

/// [`keeps`] for an object read as text.
fn text_keeps(attrs: &'static [Attribute], obj: &[(Cow<'_, str>, &RawValue)], mode: Mode<'_>) -> bool {
    obj.iter().any(|(key, value)| {
        attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(key))
            .is_some_and(|a| text_attr(a, value, mode).is_some())
    })
}

/// How `attr`'s `value` is written under `mode`, if at all: as it is, or its sub-attributes
/// projected (an object, or the objects of an array, left with none is not written).
fn out_attr<'a>(attr: &'static Attribute, value: &'a Value, mode: Mode<'a>) -> Option<Out<'a>> {
    let sub_mode = attr_mode(attr, mode)?;
    if attr.ty != AttrType::Complex {
        return Some(Out::Plain(value));
    }
    match value {
        Value::Object(obj) => {
            keeps(attr.sub_attributes, obj, sub_mode).then_some(Out::Map(attr.sub_attributes, obj, sub_mode))
        }
        Value::Array(items) => items
            .iter()
            .any(|i| matches!(i, Value::Object(o) if keeps(attr.sub_attributes, o, sub_mode)))
            .then_some(Out::Items(attr.sub_attributes, items, sub_mode)),
        _ => None,
    }
}

/// Whether anything of `obj` (a complex value) is written under `mode`.
fn keeps(attrs: &'static [Attribute], obj: &Map<String, Value>, mode: Mode<'_>) -> bool {
    obj.iter().any(|(key, value)| {
        attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(key))
            .is_some_and(|a| out_attr(a, value, mode).is_some())
    })
}

/// The selection node for `name` under the current mode's selection.
fn selection_child<'s>(mode: Mode<'s>, name: &str) -> Option<&'s Selection> {
    match mode {
        Mode::Default => None,
        Mode::Include(s) | Mode::Exclude(s) => s.child(name),
    }
}

/// Whether `attr` is output under `mode` (`None`: not), and the mode of its sub-attributes.
fn attr_mode<'s>(attr: &Attribute, mode: Mode<'s>) -> Option<Mode<'s>> {
    let child = selection_child(mode, attr.name);
    let sub_mode = match attr.returned {
        Returned::Never => return None,
        Returned::Always => match child {
            Some(c) if !c.whole && matches!(mode, Mode::Include(_)) => Mode::Include(c),
            _ => Mode::Default,
        },
        Returned::Default | Returned::Request => match (mode, child) {
            (Mode::Default, _) if attr.returned == Returned::Request => return None,
            (Mode::Default, _) => Mode::Default,
            (Mode::Include(_), None) => return None,
            (Mode::Include(_), Some(c)) if c.whole => Mode::Default,
            (Mode::Include(_), Some(c)) => Mode::Include(c),
            (Mode::Exclude(_), _) if attr.returned == Returned::Request => return None,
            (Mode::Exclude(_), Some(c)) if c.whole => return None,
            (Mode::Exclude(_), Some(c)) => Mode::Exclude(c),
            (Mode::Exclude(_), None) => Mode::Default,
        },
    };
    Some(sub_mode)
}
