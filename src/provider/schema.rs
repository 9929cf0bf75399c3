//! Schemas as we declare them, their tfplugin6 form, and the checks the framework derives from
//! them (validators, values known before a read, the shape of a state).
//!
//! Each attribute's description and validators live here once; the generated docs, Terraform's
//! `providers schema -json`, `terraform validate` and every read all take them from the schema.

use std::borrow::Cow;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::validators::Validator;
use super::value::Value;
use crate::proto::tfplugin6 as proto;

/// The Terraform type of an attribute.
#[derive(Clone, Debug)]
pub enum AttributeType {
    String,
    Bool,
    Number,
    ListOfString,
    /// A list of objects with these attributes: a nested attribute with nesting LIST, which
    /// Terraform shows as `(Attributes List)`.
    ListNested(Vec<Attribute>),
    /// A list of objects with these attributes as a plain type, `list(object({...}))`. Terraform
    /// 1.11's `terraform test` can override such a list with `[{...}]`; a nested attribute it
    /// cannot (mongodb/terraform-provider-mongodbatlas issue 3702: "incompatible types; expected
    /// object type, found tuple"), so every list a data source returns is declared this way.
    ListOfObject(Vec<Attribute>),
}

impl AttributeType {
    /// The JSON type constraint Terraform reads from the schema; empty for a nested attribute,
    /// whose type Terraform derives from `nested_type` instead.
    pub fn json(&self) -> Cow<'static, str> {
        match self {
            AttributeType::String => "\"string\"".into(),
            AttributeType::Bool => "\"bool\"".into(),
            AttributeType::Number => "\"number\"".into(),
            AttributeType::ListOfString => "[\"list\",\"string\"]".into(),
            AttributeType::ListNested(_) => "".into(),
            AttributeType::ListOfObject(attributes) => {
                format!("[\"list\",{}]", object_type_json(attributes)).into()
            }
        }
    }

    /// The name docs use (tfplugindocs' words).
    pub fn label(&self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Bool => "Boolean",
            AttributeType::Number => "Number",
            AttributeType::ListOfString => "List of String",
            AttributeType::ListNested(_) => "Attributes List",
            AttributeType::ListOfObject(_) => "List of Object",
        }
    }

    /// The attributes of each object of a list of objects, nested or plain.
    pub fn nested(&self) -> Option<&[Attribute]> {
        match self {
            AttributeType::ListNested(attributes) | AttributeType::ListOfObject(attributes) => {
                Some(attributes)
            }
            _ => None,
        }
    }
}

/// `["object",{"name":type,...}]`, the cty type JSON of an object with these attributes.
fn object_type_json(attributes: &[Attribute]) -> String {
    let fields: Vec<String> = attributes
        .iter()
        .map(|attribute| {
            let name = serde_json::Value::String(attribute.name.to_owned());
            format!("{name}:{}", attribute.kind.json())
        })
        .collect();
    format!("[\"object\",{{{}}}]", fields.join(","))
}

/// Who sets an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The configuration must set it.
    Required,
    /// The configuration may set it.
    Optional,
    /// The provider sets it.
    Computed,
}

/// One attribute of a provider or data source.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttributeType,
    pub presence: Presence,
    pub sensitive: bool,
    /// Markdown.
    pub description: Cow<'static, str>,
    /// Run by the framework on a known, non-null value at validate time and before every read.
    pub validators: Vec<Validator>,
}

impl Attribute {
    pub fn new(
        name: &'static str,
        kind: AttributeType,
        presence: Presence,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name,
            kind,
            presence,
            sensitive: false,
            description: description.into(),
            validators: Vec::new(),
        }
    }

    pub fn required(
        name: &'static str,
        kind: AttributeType,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(name, kind, Presence::Required, description)
    }

    pub fn optional(
        name: &'static str,
        kind: AttributeType,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(name, kind, Presence::Optional, description)
    }

    pub fn computed(
        name: &'static str,
        kind: AttributeType,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(name, kind, Presence::Computed, description)
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Adds a check the framework runs on this attribute's value.
    pub fn validated(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }

    fn to_proto(&self) -> proto::schema::Attribute {
        proto::schema::Attribute {
            name: self.name.to_owned(),
            r#type: self.kind.json().as_bytes().to_vec(),
            // tfplugin6.8 `Schema.Attribute.nested_type` (field 10), a `Schema.Object` with
            // nesting LIST: hashicorp/terraform docs/plugin-protocol/tfplugin6.8.proto. `type`
            // stays empty, as Terraform requires exactly one of the two.
            nested_type: match &self.kind {
                AttributeType::ListNested(attributes) => Some(attributes),
                _ => None,
            }
            .map(|attributes| proto::schema::Object {
                attributes: attributes.iter().map(Attribute::to_proto).collect(),
                nesting: proto::schema::object::NestingMode::List as i32,
            }),
            description: self.description.clone().into_owned(),
            required: self.presence == Presence::Required,
            optional: self.presence == Presence::Optional,
            computed: self.presence == Presence::Computed,
            sensitive: self.sensitive,
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
        }
    }
}

/// The schema of a provider or data source: one block of attributes.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Markdown.
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    pub fn to_proto(&self) -> proto::Schema {
        proto::Schema {
            version: 0,
            block: Some(proto::schema::Block {
                version: 0,
                attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
                block_types: Vec::new(),
                description: self.description.to_owned(),
                description_kind: proto::StringKind::Markdown as i32,
                deprecated: false,
            }),
        }
    }

    /// Runs every attribute's validators on its value in `config`; null and unknown values are
    /// skipped (Terraform checks required arguments itself, and an unknown value is checked
    /// again once known, before the read).
    pub fn validate(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        for attribute in &self.attributes {
            let value = config.attribute(attribute.name);
            if matches!(value, Value::Null | Value::Unknown) {
                continue;
            }
            for validator in &attribute.validators {
                diagnostics.extend(validator.check(attribute.name, value, config));
            }
        }
        diagnostics
    }

    /// Errors for arguments that a read cannot do without: a required one that is null, or any
    /// argument that is (or holds) a value not known yet.
    pub fn check_known(&self, config: &Value, what: &str) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        for attribute in &self.attributes {
            let value = config.attribute(attribute.name);
            match attribute.presence {
                Presence::Computed => {}
                _ if !value.is_wholly_known() => diagnostics.push(
                    Diagnostic::error(
                        "Value Not Yet Known",
                        format!(
                            "`{}` is not known yet, so the {what} cannot be read now. Terraform reads it once \
                             the value is known.",
                            attribute.name
                        ),
                    )
                    .on(attribute.name),
                ),
                Presence::Required if matches!(value, Value::Null) => diagnostics.push(
                    Diagnostic::error(
                        "Missing Required Argument",
                        format!("`{}` must be set.", attribute.name),
                    )
                    .on(attribute.name),
                ),
                _ => {}
            }
        }
        diagnostics
    }

    /// The state Terraform stores: every argument echoed from `config` as Terraform requires,
    /// and every computed attribute from `computed` (an object), each checked against its type.
    /// An error names what does not fit: that is our bug, not the user's.
    pub fn state(&self, config: &Value, computed: &Value) -> Result<Value, String> {
        let Value::Object(fields) = computed else {
            return Err(format!("the computed state is not an object: {computed:?}"));
        };
        if let Some(extra) = fields.keys().find(|name| {
            self.attribute(name)
                .is_none_or(|attribute| attribute.presence != Presence::Computed)
        }) {
            return Err(format!(
                "the state sets `{extra}`, which is not a computed attribute of the schema"
            ));
        }
        let mut state = std::collections::BTreeMap::new();
        for attribute in &self.attributes {
            let value = match attribute.presence {
                Presence::Computed => {
                    let value = fields.get(attribute.name).ok_or_else(|| {
                        format!("the state has no value for `{}`", attribute.name)
                    })?;
                    conform(&attribute.kind, value)
                        .map_err(|problem| format!("`{}`: {problem}", attribute.name))?
                }
                _ => config.attribute(attribute.name).clone(),
            };
            state.insert(attribute.name.to_owned(), value);
        }
        Ok(Value::Object(state))
    }
}

/// `value` as Terraform expects a value of type `kind`: null stays null, a nested object holds
/// exactly its attributes.
fn conform(kind: &AttributeType, value: &Value) -> Result<Value, String> {
    match (kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (AttributeType::String, Value::String(_))
        | (AttributeType::Bool, Value::Bool(_))
        | (AttributeType::Number, Value::Number(_)) => Ok(value.clone()),
        (AttributeType::ListOfString, Value::List(items))
            if items.iter().all(|item| matches!(item, Value::String(_))) =>
        {
            Ok(value.clone())
        }
        (
            AttributeType::ListNested(attributes) | AttributeType::ListOfObject(attributes),
            Value::List(items),
        ) => items
            .iter()
            .map(|item| {
                let Value::Object(fields) = item else {
                    return Err(format!("a list item is not an object: {item:?}"));
                };
                if let Some(extra) = fields
                    .keys()
                    .find(|name| !attributes.iter().any(|attribute| attribute.name == *name))
                {
                    return Err(format!("a list item sets `{extra}`, not in the schema"));
                }
                attributes
                    .iter()
                    .map(|attribute| {
                        let field = fields.get(attribute.name).unwrap_or(&Value::Null);
                        conform(&attribute.kind, field)
                            .map(|field| (attribute.name.to_owned(), field))
                            .map_err(|problem| format!("`{}`: {problem}", attribute.name))
                    })
                    .collect::<Result<_, _>>()
                    .map(Value::Object)
            })
            .collect::<Result<_, _>>()
            .map(Value::List),
        (kind, value) => Err(format!("{value:?} is not a {}", kind.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_schema_carries_type_presence_and_sensitivity() {
        let schema = Schema {
            description: "test",
            attributes: vec![
                Attribute::new("key", AttributeType::String, Presence::Optional, "a key")
                    .sensitive(),
                Attribute::new(
                    "statuses",
                    AttributeType::ListOfString,
                    Presence::Required,
                    "statuses",
                ),
            ],
        };
        let block = schema.to_proto().block.unwrap();
        assert_eq!(block.attributes[0].r#type, b"\"string\"");
        assert!(block.attributes[0].optional && block.attributes[0].sensitive);
        assert_eq!(block.attributes[1].r#type, b"[\"list\",\"string\"]");
        assert!(block.attributes[1].required && !block.attributes[1].computed);
        assert!(block.attributes[1].nested_type.is_none());
    }

    fn nested_schema() -> Schema {
        Schema {
            description: "test",
            attributes: vec![
                Attribute::required("name", AttributeType::String, "name"),
                Attribute::computed(
                    "items",
                    AttributeType::ListNested(vec![
                        Attribute::computed("id", AttributeType::String, "id"),
                        Attribute::computed("ok", AttributeType::Bool, "ok"),
                    ]),
                    "items",
                ),
            ],
        }
    }

    #[test]
    fn nested_list_is_a_nested_type_with_list_nesting_and_no_type() {
        let block = nested_schema().to_proto().block.unwrap();
        let items = &block.attributes[1];
        assert!(items.r#type.is_empty());
        let nested = items.nested_type.as_ref().unwrap();
        assert_eq!(
            nested.nesting,
            proto::schema::object::NestingMode::List as i32
        );
        let names: Vec<_> = nested.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["id", "ok"]);
        assert_eq!(nested.attributes[1].r#type, b"\"bool\"");
        assert!(nested.attributes[0].computed);
    }

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Object(
            entries
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
        )
    }

    #[test]
    fn state_echoes_arguments_and_fills_nested_nulls() {
        let config = object(&[("name", Value::String("x".into())), ("items", Value::Null)]);
        let computed = object(&[(
            "items",
            Value::List(vec![object(&[("id", Value::String("a".into()))])]),
        )]);
        let state = nested_schema().state(&config, &computed).unwrap();
        assert_eq!(state.attribute("name"), &Value::String("x".into()));
        let Value::List(items) = state.attribute("items") else {
            panic!("{state:?}")
        };
        assert_eq!(items[0].attribute("ok"), &Value::Null);
        assert!(matches!(&items[0], Value::Object(fields) if fields.len() == 2));
    }

    #[test]
    fn state_that_does_not_fit_the_schema_is_refused() {
        let config = object(&[("name", Value::String("x".into()))]);
        let wrong_type = object(&[("items", Value::String("a".into()))]);
        assert!(nested_schema().state(&config, &wrong_type).is_err());
        let extra = object(&[("items", Value::Null), ("name", Value::Null)]);
        assert!(nested_schema().state(&config, &extra).is_err());
        assert!(nested_schema().state(&config, &object(&[])).is_err());
    }

    #[test]
    fn unknown_and_missing_arguments_stop_a_read() {
        let schema = nested_schema();
        let unknown = schema.check_known(&object(&[("name", Value::Unknown)]), "thing");
        assert_eq!(
            unknown.iter().next().unwrap().summary,
            "Value Not Yet Known"
        );
        let missing = schema.check_known(&object(&[]), "thing");
        assert_eq!(
            missing.iter().next().unwrap().summary,
            "Missing Required Argument"
        );
        assert!(
            schema
                .check_known(&object(&[("name", Value::String("x".into()))]), "thing")
                .is_empty()
        );
    }
}
