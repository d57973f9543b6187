//! The local org's data, in memory: one table per object, rows never physically removed (a
//! delete sets `IsDeleted`, like the recycle bin), so a row's position is stable and query
//! locators can refer to rows by position. IDs encode that position, so no ID index is needed.

use super::schema::{self, FieldDef, FieldType, ObjectDef};
use crate::salesforce::datetime;
use crate::salesforce::ids::{checksum, SalesforceId};
use std::collections::HashMap;

/// A field value. Datetimes are kept as epoch milliseconds and formatted on the way out.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(Box<str>),
    DateTime(i64),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Self {
        Value::Text(s.into().into_boxed_str())
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Empty strings are null to Salesforce.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(s) => serde_json::Value::String(s.to_string()),
            Value::DateTime(ms) => serde_json::Value::String(datetime::format_millis(*ms)),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => s.serialize_f64(*n),
            Value::Text(t) => s.serialize_str(t),
            Value::DateTime(ms) => s.serialize_str(&datetime::format_millis(*ms)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub created: i64,
    pub modified: i64,
    pub deleted: bool,
    /// The object's own fields, in schema order after the system fields.
    pub values: Box<[Value]>,
}

impl Row {
    /// A blank row of `def` (booleans false, the rest null).
    pub fn blank(def: &ObjectDef, now: i64) -> Self {
        let values = def.fields[schema::SYSTEM_FIELDS..]
            .iter()
            .map(|f| if f.ty == FieldType::Boolean { Value::Bool(false) } else { Value::Null })
            .collect();
        Row { created: now, modified: now, deleted: false, values }
    }

    /// Value of the own field at schema index `field` (not a system field).
    pub fn own(&self, field: usize) -> &Value {
        &self.values[field - schema::SYSTEM_FIELDS]
    }

    pub fn set(&mut self, field: usize, value: Value) {
        self.values[field - schema::SYSTEM_FIELDS] = value;
    }
}

pub struct Table {
    pub def: ObjectDef,
    pub rows: Vec<Row>,
    /// External ID value -> row, for upserts.
    pub by_external_id: HashMap<Box<str>, u32>,
    /// Lower-cased email -> rows, for duplicate rules.
    pub by_email: HashMap<Box<str>, Vec<u32>>,
    external_field: Option<usize>,
    email_field: Option<usize>,
}

/// Encodes a row position as an 18-character ID: key prefix, a `0`, 11 base-62 digits, checksum.
pub fn encode_id(prefix: &str, row: u32) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id15 = [b'0'; 15];
    id15[..3].copy_from_slice(&prefix.as_bytes()[..3]);
    // Row 0 is encoded as 1 so that no ID is all zeros after the prefix.
    let mut n = u64::from(row) + 1;
    let mut i = 14;
    while n > 0 && i > 3 {
        id15[i] = DIGITS[(n % 62) as usize];
        n /= 62;
        i -= 1;
    }
    let sum = checksum(&id15);
    let mut out = String::with_capacity(18);
    out.extend(id15.iter().chain(sum.iter()).map(|&b| b as char));
    out
}

/// The row an ID of this table points at, if it is well formed and was ever issued.
pub fn decode_id(prefix: &str, id: &str) -> Option<u32> {
    let id = SalesforceId::parse(id).ok()?;
    if id.key_prefix() != prefix {
        return None;
    }
    let mut n: u64 = 0;
    for b in id.short().bytes().skip(4) {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        n = n.checked_mul(62)?.checked_add(u64::from(d))?;
    }
    n.checked_sub(1).and_then(|r| u32::try_from(r).ok())
}

impl Table {
    pub fn new(def: ObjectDef) -> Self {
        let external_field = def.fields.iter().position(|f| f.external_id);
        let email_field = if def.duplicate_rule_on_email { def.field_index("Email") } else { None };
        Table {
            def,
            rows: Vec::new(),
            by_external_id: HashMap::new(),
            by_email: HashMap::new(),
            external_field,
            email_field,
        }
    }

    pub fn id_of(&self, row: u32) -> String {
        encode_id(self.def.key_prefix, row)
    }

    /// The row of a live or deleted record with this ID.
    pub fn find(&self, id: &str) -> Option<u32> {
        decode_id(self.def.key_prefix, id).filter(|&r| (r as usize) < self.rows.len())
    }

    pub fn field(&self, index: usize) -> &FieldDef {
        &self.def.fields[index]
    }

    /// Any field of a row, system fields included.
    pub fn get(&self, row: u32, field: usize) -> Value {
        let r = &self.rows[row as usize];
        match field {
            schema::ID => Value::text(self.id_of(row)),
            schema::IS_DELETED => Value::Bool(r.deleted),
            schema::CREATED_DATE => Value::DateTime(r.created),
            schema::LAST_MODIFIED_DATE | schema::SYSTEM_MODSTAMP => Value::DateTime(r.modified),
            _ => r.own(field).clone(),
        }
    }

    /// Appends a row and indexes it; returns its position.
    pub fn insert(&mut self, row: Row) -> u32 {
        let index = self.rows.len() as u32;
        self.rows.push(row);
        self.index(index);
        index
    }

    /// Replaces a row's values, keeping indexes in step.
    pub fn replace(&mut self, index: u32, row: Row) {
        self.unindex(index);
        self.rows[index as usize] = row;
        self.index(index);
    }

    /// Removes the last row, undoing an insert of a rolled-back `allOrNone` request.
    pub fn remove_last(&mut self) {
        if let Some(last) = self.rows.len().checked_sub(1) {
            self.unindex(last as u32);
            self.rows.pop();
        }
    }

    pub fn delete(&mut self, index: u32, now: i64) {
        self.unindex(index);
        let row = &mut self.rows[index as usize];
        row.deleted = true;
        row.modified = now;
    }

    fn index(&mut self, index: u32) {
        let row = &self.rows[index as usize];
        if row.deleted {
            return;
        }
        if let Some(f) = self.external_field {
            if let Some(v) = row.own(f).as_text() {
                self.by_external_id.insert(v.into(), index);
            }
        }
        if let Some(f) = self.email_field {
            if let Some(v) = row.own(f).as_text() {
                self.by_email.entry(v.to_ascii_lowercase().into()).or_default().push(index);
            }
        }
    }

    fn unindex(&mut self, index: u32) {
        let row = &self.rows[index as usize];
        if let Some(v) = self.external_field.and_then(|f| row.own(f).as_text()) {
            if self.by_external_id.get(v) == Some(&index) {
                self.by_external_id.remove(v);
            }
        }
        if let Some(v) = self.email_field.and_then(|f| row.own(f).as_text()) {
            let key = v.to_ascii_lowercase();
            if let Some(rows) = self.by_email.get_mut(key.as_str()) {
                rows.retain(|&r| r != index);
                if rows.is_empty() {
                    self.by_email.remove(key.as_str());
                }
            }
        }
    }

    pub fn live_count(&self) -> usize {
        self.rows.iter().filter(|r| !r.deleted).count()
    }
}

/// All tables, in [`schema::objects`] order.
pub struct Store {
    pub tables: Vec<Table>,
}

impl Store {
    pub fn new() -> Self {
        Store { tables: schema::objects().into_iter().map(Table::new).collect() }
    }

    /// Table position by object name (case-insensitive, as the API is).
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.def.name.eq_ignore_ascii_case(name))
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.table_index(name).map(|i| &self.tables[i])
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.table_index(name).map(move |i| &mut self.tables[i])
    }

    /// Whether `id` names a live record of one of the `objects`.
    pub fn live_reference(&self, objects: &[&str], id: &str) -> bool {
        objects.iter().any(|o| {
            self.table(o)
                .and_then(|t| t.find(id).map(|r| !t.rows[r as usize].deleted))
                .unwrap_or(false)
        })
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_encode_positions_and_carry_a_valid_checksum() {
        for row in [0u32, 1, 61, 62, 999_999, u32::MAX - 1] {
            let id = encode_id("00Q", row);
            assert_eq!(id.len(), 18);
            assert!(SalesforceId::parse(&id).is_ok(), "{id}");
            assert_eq!(decode_id("00Q", &id), Some(row));
            assert_eq!(decode_id("00Q", &id[..15]), Some(row), "15-character form");
            assert_eq!(decode_id("003", &id), None, "another object's prefix");
        }
    }

    #[test]
    fn deleting_removes_a_row_from_the_indexes() {
        let mut store = Store::new();
        let table = store.table_mut("Lead").unwrap();
        let email = table.def.field_index("Email").unwrap();
        let ext = table.def.field_index("Conversion_Id__c").unwrap();
        let mut row = Row::blank(&table.def, 1);
        row.set(email, Value::text("Ann@Example.com"));
        row.set(ext, Value::text("c-1"));
        let r = table.insert(row);
        assert_eq!(table.by_email.get("ann@example.com").map(Vec::len), Some(1));
        assert_eq!(table.by_external_id.get("c-1"), Some(&r));
        table.delete(r, 2);
        assert!(table.by_email.is_empty() && table.by_external_id.is_empty());
        assert_eq!(table.get(r, schema::IS_DELETED), Value::Bool(true));
    }
}
