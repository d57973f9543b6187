//! A record as Conversion holds it now, for the record page: its fields in the order people read
//! them, each as text.

use super::Table;
use crate::domain::ObjectType;
use crate::store::{Db, StoreError, WorkspaceId};

/// The record's row in Conversion, if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentRecord {
    pub id: String,
    pub salesforce_id: Option<String>,
    /// (label, value) in the order the page shows them; empty fields are left out.
    pub fields: Vec<(&'static str, String)>,
    /// When Conversion last changed the row, Unix ms.
    pub updated_at: i64,
}

/// A row found: its id, Salesforce ID, change time and the shown columns' values.
type Found = (String, Option<String>, i64, Vec<Option<String>>);

/// The columns shown for each table, with their labels.
fn shown(table: Table) -> &'static [(&'static str, &'static str)] {
    match table {
        Table::Contacts => &[
            ("email", "Email"),
            ("first_name", "First name"),
            ("last_name", "Last name"),
            ("title", "Title"),
            ("salesforce_object", "Salesforce object"),
        ],
        Table::Companies => &[("name", "Name"), ("website", "Website"), ("industry", "Industry")],
        Table::Opportunities => &[
            ("name", "Name"),
            ("stage", "Stage"),
            ("amount", "Amount"),
            ("close_date", "Close date"),
        ],
        Table::OpportunityContacts => &[
            ("role", "Role"),
            ("is_primary", "Primary"),
            ("opportunity_id", "Opportunity (Conversion id)"),
            ("contact_id", "Contact (Conversion id)"),
        ],
        Table::Events => &[("name", "Name"), ("contact_id", "Contact (Conversion id)")],
    }
}

/// The Conversion row of a record of `object`, found by its Conversion id or, failing that, by
/// its Salesforce ID.
pub async fn current_record(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
    conversion_id: Option<&str>,
    salesforce_id: Option<&str>,
) -> Result<Option<CurrentRecord>, StoreError> {
    let table = Table::of(object);
    let columns = shown(table);
    let select: Vec<String> = columns.iter().map(|(c, _)| format!("CAST({c} AS TEXT)")).collect();
    let sql_by = |key: &str| {
        format!(
            "SELECT id, salesforce_id, updated_at, {} FROM {} WHERE workspace_id = $1 AND {key} = $2",
            select.join(", "),
            table.name()
        )
    };
    for (key, value) in [("id", conversion_id), ("salesforce_id", salesforce_id)] {
        let Some(value) = value else { continue };
        let sql = sql_by(key);
        let row: Option<Found> = on_db!(db, |pool| {
            use sqlx::Row;
            let row = sqlx::query(&sql).bind(ws.as_str()).bind(value).fetch_optional(pool).await?;
            match row {
                None => None,
                Some(row) => {
                    let mut values = Vec::with_capacity(columns.len());
                    for i in 0..columns.len() {
                        values.push(row.try_get::<Option<String>, _>(3 + i)?);
                    }
                    Some((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, values))
                }
            }
        });
        if let Some((id, salesforce_id, updated_at, values)) = row {
            let fields = columns
                .iter()
                .zip(values)
                .filter_map(|((column, label), v)| {
                    let v = v.filter(|v| !v.trim().is_empty())?;
                    Some((*label, if *column == "is_primary" { yes_no(&v) } else { v }))
                })
                .collect();
            return Ok(Some(CurrentRecord { id, salesforce_id, fields, updated_at }));
        }
    }
    Ok(None)
}

fn yes_no(v: &str) -> String {
    if v == "0" {
        "No".into()
    } else {
        "Yes".into()
    }
}
