//! Records rendered as Salesforce sends them, written straight into the output buffer.

use super::{Cursor, Parent};
use crate::fake_org::schema::SYSTEM_FIELDS;
use crate::fake_org::store::{Store, Table};
use serde::ser::{SerializeMap, Serializer};

/// Renders one page of records as the `records` array Salesforce sends, written straight into
/// the output buffer (no intermediate JSON tree: this is the local org's hot path).
pub fn write_records(
    out: &mut Vec<u8>,
    table: &Table,
    fields: &[usize],
    rows: &[u32],
    version: &str,
) {
    let mut ser = serde_json::Serializer::new(out);
    let _ = ser.collect_seq(rows.iter().map(|&r| RecordView {
        store: None,
        table,
        fields,
        parents: &[],
        row: r,
        version,
    }));
}

/// A query's page of records, with the parent records its fields name (`Account.Name`).
pub fn write_query_records(
    out: &mut Vec<u8>,
    store: &Store,
    cursor: &Cursor,
    rows: &[u32],
    version: &str,
) {
    let table = &store.tables[cursor.table];
    let mut ser = serde_json::Serializer::new(out);
    let _ = ser.collect_seq(rows.iter().map(|&r| RecordView {
        store: Some(store),
        table,
        fields: &cursor.fields,
        parents: &cursor.parents,
        row: r,
        version,
    }));
}

struct RecordView<'a> {
    /// For parent records; `None` when there are none to render.
    store: Option<&'a Store>,
    table: &'a Table,
    fields: &'a [usize],
    parents: &'a [Parent],
    row: u32,
    version: &'a str,
}

#[derive(serde::Serialize)]
struct AttributesView<'a> {
    #[serde(rename = "type")]
    sobject_type: &'a str,
    url: String,
}

impl serde::Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len() + 1))?;
        let id = self.table.id_of(self.row);
        let name = self.table.def.name;
        map.serialize_entry(
            "attributes",
            &AttributesView {
                sobject_type: name,
                url: format!("/services/data/{}/sobjects/{name}/{id}", self.version),
            },
        )?;
        let row = &self.table.rows[self.row as usize];
        for &f in self.fields {
            let key = self.table.def.fields[f].name;
            if f == crate::fake_org::schema::ID {
                map.serialize_entry(key, &id)?;
            } else if f >= SYSTEM_FIELDS {
                map.serialize_entry(key, row.own(f))?;
            } else {
                map.serialize_entry(key, &self.table.get(self.row, f))?;
            }
        }
        if let Some(store) = self.store {
            for parent in self.parents {
                let p = &store.tables[parent.table];
                let found = self.table.get(self.row, parent.via);
                let row = found
                    .as_text()
                    .and_then(|id| p.find(id))
                    .filter(|&r| !p.rows[r as usize].deleted);
                match row {
                    Some(row) => map.serialize_entry(
                        &parent.name,
                        &RecordView {
                            store: None,
                            table: p,
                            fields: &parent.fields,
                            parents: &[],
                            row,
                            version: self.version,
                        },
                    )?,
                    None => map.serialize_entry(&parent.name, &())?,
                }
            }
        }
        map.end()
    }
}
