//! The fields Conversion and Salesforce both keep, one table per object that has them: the
//! Salesforce field, Conversion's column and what the field mapping calls it. Everything that
//! names such a field reads it from here: the inbound query and copy, the columns the store
//! writes and a push reads, the field mapping on the Overview and the settings' checks.
//!
//! A field that only needs to be copied both ways takes one row in its object's table (and a
//! migration for the column); rules of its own (the email's, the account link) stay in the
//! server's `sync/objects/` file of that object.

pub mod company;
pub mod contact;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of an object's table.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// Conversion's column, also the field's code in the settings, the outbox and the API.
    pub column: &'static str,
    /// The Salesforce field it is read from and written to.
    pub salesforce: &'static str,
    /// What the field mapping calls it.
    pub label: &'static str,
}

/// A field of one object's table, as a type: `parse` only accepts the table's codes.
macro_rules! mapped_field {
    ($(#[$meta:meta])* $name:ident, $table:path) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(&'static Field);

        impl $name {
            /// Every field of the table, in its order.
            pub fn all() -> Vec<$name> {
                $table.iter().map($name).collect()
            }
            pub fn parse(code: &str) -> Option<$name> {
                $table.iter().find(|f| f.column == code).map($name)
            }
            /// The code: Conversion's column.
            pub fn as_str(self) -> &'static str {
                self.0.column
            }
            pub fn salesforce(self) -> &'static str {
                self.0.salesforce
            }
            pub fn label(self) -> &'static str {
                self.0.label
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = String::deserialize(d)?;
                $name::parse(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown field \u{201c}{code}\u{201d}"))
                })
            }
        }
    };
}

mapped_field! {
    /// A Conversion contact field: copied from Salesforce Contacts and Leads, and pushed back when
    /// the field mapping has it ([`contact::FIELDS`]).
    ContactField, contact::FIELDS
}

mapped_field! {
    /// A Conversion company field: copied from Salesforce Accounts, and pushed back when the field
    /// mapping has it ([`company::FIELDS`]).
    CompanyField, company::FIELDS
}

/// The Salesforce fields of a table, comma-separated as a SOQL field list.
pub fn soql_list(table: &[Field]) -> String {
    table.iter().map(|f| f.salesforce).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_name_their_salesforce_field() {
        let title = ContactField::parse("title").unwrap();
        assert_eq!(
            (title.as_str(), title.salesforce(), title.label()),
            ("title", "Title", "Job title")
        );
        assert_eq!(ContactField::parse("nope"), None);
        assert_eq!(CompanyField::all().len(), company::FIELDS.len());
        assert_eq!(serde_json::to_string(&title).unwrap(), "\"title\"");
        assert_eq!(serde_json::from_str::<ContactField>("\"title\"").unwrap(), title);
        assert!(serde_json::from_str::<ContactField>("\"nope\"").is_err());
    }

    #[test]
    fn columns_and_salesforce_names_are_unique_per_table() {
        for table in [contact::FIELDS, company::FIELDS] {
            for (i, f) in table.iter().enumerate() {
                assert!(table[..i]
                    .iter()
                    .all(|g| g.column != f.column && g.salesforce != f.salesforce));
            }
        }
    }
}
