//! What a push sends for one record: its body, built from the record as Conversion has it and
//! the workspace's field mapping and write settings, or the reason it is not sent.

use super::outbox::Change;
use crate::sync::objects;
use crate::sync::state::Settings;
use crate::sync::Engine;
use app::domain::{ObjectType, RecordAction, RecordMessage};
use app::store::conversion::changes as pushed;
use app::store::StoreError;
use serde_json::{json, Map, Value};

/// A record to send, or the reason it is not sent.
pub(super) enum Plan {
    Update(Value),
    Create(Value),
    Delete(String),
    /// A delete whose Salesforce id is unknown: look it up by Conversion's id first.
    Find,
    Skip(RecordMessage, String),
    /// Failed before any write (the look-up of a delete was refused).
    Fail(RecordMessage, String),
    /// The record is gone and never reached Salesforce: nothing to report.
    Drop,
}

pub(super) async fn plan(
    engine: &Engine,
    object: ObjectType,
    c: &Change,
    settings: &Settings,
) -> Result<(Plan, RecordAction), StoreError> {
    let writable = match object {
        ObjectType::Contact | ObjectType::Lead => settings.write_contacts,
        ObjectType::Company => settings.write_companies,
        ObjectType::Event => settings.write_events,
        _ => false,
    };
    let action = if c.delete {
        RecordAction::Deleted
    } else if c.created_in_conversion {
        RecordAction::Created
    } else {
        RecordAction::Updated
    };
    if !writable {
        let what = match object {
            ObjectType::Contact | ObjectType::Lead => {
                "Write changes to Salesforce leads and contacts is off"
            }
            _ => "Writing this object to Salesforce is off",
        };
        return Ok((Plan::Skip(RecordMessage::ObjectWriteDisabled, what.into()), action));
    }
    if c.delete {
        // No id: the create may still have reached Salesforce (it was in flight when the record
        // was deleted, or its push was interrupted before the answer came back).
        return Ok((c.salesforce_id.clone().map_or(Plan::Find, Plan::Delete), action));
    }
    let (pool, ws) = (engine.pool(), engine.workspace());
    let sobject = object.sobject();
    let mut body = Map::new();
    body.insert("attributes".into(), json!({ "type": sobject }));
    let wanted = |f: &str| c.fields.as_ref().is_none_or(|fs| fs.iter().any(|x| x == f));
    let (sf_id, values): (Option<String>, Vec<(&str, &str, Value)>) = match object {
        ObjectType::Contact | ObjectType::Lead => {
            let Some(row) = pushed::contact_to_push(pool, ws, &c.conversion_id).await? else {
                return Ok((Plan::Drop, action));
            };
            (row.salesforce_id.clone(), objects::contact::outbound_values(object, &row, settings))
        }
        ObjectType::Company => {
            let Some(row) = pushed::company_to_push(pool, ws, &c.conversion_id).await? else {
                return Ok((Plan::Drop, action));
            };
            (row.salesforce_id.clone(), objects::company::outbound_values(&row, settings))
        }
        ObjectType::Event => {
            let Some(row) = pushed::event_to_push(pool, ws, &c.conversion_id).await? else {
                return Ok((Plan::Drop, action));
            };
            (row.salesforce_id.clone(), objects::event::outbound_values(&row))
        }
        _ => {
            return Ok((
                Plan::Skip(
                    RecordMessage::ObjectWriteDisabled,
                    "Conversion does not write this object".into(),
                ),
                action,
            ))
        }
    };
    let mut any = false;
    for (field, sf_field, value) in values {
        // A new record gets every mapped field; an update only those the change touched.
        if sf_id.is_none() || wanted(field) {
            body.insert(sf_field.into(), value);
            any = true;
        }
    }
    if !any {
        let detail = format!(
            "Changed fields {:?} are not mapped to Salesforce",
            c.fields.clone().unwrap_or_default()
        );
        return Ok((Plan::Skip(RecordMessage::NoFieldsToUpdate, detail), action));
    }
    Ok(match sf_id {
        Some(id) => {
            body.insert("Id".into(), json!(id));
            // Linked by an inbound sync after an interrupted push created it: still its create.
            let action =
                if c.created_in_conversion { RecordAction::Created } else { RecordAction::Updated };
            (Plan::Update(Value::Object(body)), action)
        }
        None => {
            body.insert("Conversion_Id__c".into(), json!(c.conversion_id));
            (Plan::Create(Value::Object(body)), RecordAction::Created)
        }
    })
}
