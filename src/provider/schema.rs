//! Schemas as we declare them, and their tfplugin6 form.
//!
//! Each attribute's description lives here once; the generated docs and Terraform's
//! `providers schema -json` both read it from the schema.

use crate::proto::tfplugin6 as proto;

/// The Terraform type of an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Bool,
    Number,
    ListOfString,
}

impl AttributeType {
    /// The JSON type constraint Terraform reads from the schema.
    pub fn json(self) -> &'static str {
        match self {
            AttributeType::String => "\"string\"",
            AttributeType::Bool => "\"bool\"",
            AttributeType::Number => "\"number\"",
            AttributeType::ListOfString => "[\"list\",\"string\"]",
        }
    }

    /// The name docs use.
    pub fn label(self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Bool => "Boolean",
            AttributeType::Number => "Number",
            AttributeType::ListOfString => "List of String",
        }
    }
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
    pub description: &'static str,
}

impl Attribute {
    pub const fn new(
        name: &'static str,
        kind: AttributeType,
        presence: Presence,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            presence,
            sensitive: false,
            description,
        }
    }

    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
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
                attributes: self
                    .attributes
                    .iter()
                    .map(|attribute| proto::schema::Attribute {
                        name: attribute.name.to_owned(),
                        r#type: attribute.kind.json().as_bytes().to_vec(),
                        description: attribute.description.to_owned(),
                        required: attribute.presence == Presence::Required,
                        optional: attribute.presence == Presence::Optional,
                        computed: attribute.presence == Presence::Computed,
                        sensitive: attribute.sensitive,
                        description_kind: proto::StringKind::Markdown as i32,
                        deprecated: false,
                    })
                    .collect(),
                block_types: Vec::new(),
                description: self.description.to_owned(),
                description_kind: proto::StringKind::Markdown as i32,
                deprecated: false,
            }),
        }
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
    }
}
