//! Record writes with the validation a real org applies, producing the same per-record status
//! codes: field access, types, lengths, restricted picklists, required fields, references,
//! validation rules, duplicate rules, and faults (read-only objects, locked rows).
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode>

use super::faults::FaultState;
use super::schema::{FieldType, SYSTEM_FIELDS};
use super::store::{Row, Store, Value};
use crate::salesforce::datetime;
use crate::salesforce::types::{DuplicateResult, MatchRecord, MatchResult, RecordError};
use serde_json::Map;

type Input = Map<String, serde_json::Value>;

/// What a successful write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub id: String,
    pub created: bool,
}

fn err(code: &str, message: impl Into<String>, fields: &[&str]) -> RecordError {
    RecordError::new(code, message, fields)
}

fn no_access() -> RecordError {
    err("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", &[])
}

fn locked(id: &str) -> RecordError {
    err(
        "UNABLE_TO_LOCK_ROW",
        format!("unable to obtain exclusive access to this record or 1 records: {id}"),
        &[],
    )
}

/// `DUPLICATES_DETECTED` with the `duplicateResult` a real org attaches: the standard duplicate
/// rule of the object, its matching rule, and the records it matched.
fn duplicates(object: &str, matched: &[String]) -> RecordError {
    const MESSAGE: &str = "Use one of these records?";
    let match_records = matched
        .iter()
        .map(|id| MatchRecord {
            additional_information: Vec::new(),
            field_diffs: Vec::new(),
            match_confidence: 100.0,
            record: serde_json::json!({"attributes": {"type": object}, "Id": id})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    let mut e = err("DUPLICATES_DETECTED", MESSAGE, &[]);
    e.duplicate_result = Some(Box::new(DuplicateResult {
        allow_save: false,
        duplicate_rule: format!("Standard_{object}_Duplicate_Rule"),
        duplicate_rule_entity_type: object.to_string(),
        error_message: MESSAGE.to_string(),
        match_results: vec![MatchResult {
            entity_type: object.to_string(),
            errors: Vec::new(),
            match_engine: "ExactMatchEngine".to_string(),
            match_records,
            rule: format!("Standard_{object}_Match_Rule_v1_0"),
            size: matched.len() as u32,
            success: true,
        }],
    }));
    e
}

/// Inserts a record of `object`.
pub fn create(
    store: &mut Store,
    faults: &mut FaultState,
    object: &str,
    input: &Input,
    now: i64,
) -> Result<Written, RecordError> {
    let t = store.table_index(object).ok_or_else(|| unknown_type(object))?;
    if faults.is_readonly(object) {
        return Err(no_access());
    }
    if input.keys().any(|k| k.eq_ignore_ascii_case("Id")) {
        return Err(err("INVALID_FIELD", "cannot specify Id in an insert call", &["Id"]));
    }
    let row = prepare(store, faults, t, None, input, now)?;
    let index = store.tables[t].insert(row);
    Ok(Written { id: store.tables[t].id_of(index), created: true })
}

/// Updates the record `id` of `object` with the fields in `input`.
pub fn update(
    store: &mut Store,
    faults: &mut FaultState,
    object: &str,
    id: &str,
    input: &Input,
    now: i64,
) -> Result<Written, RecordError> {
    let t = store.table_index(object).ok_or_else(|| unknown_type(object))?;
    let index = live_row(store, t, id)?;
    let full_id = store.tables[t].id_of(index);
    if faults.is_readonly(object) {
        return Err(no_access());
    }
    if faults.take_lock(&full_id) {
        return Err(locked(&full_id));
    }
    let row = prepare(store, faults, t, Some(index), input, now)?;
    store.tables[t].replace(index, row);
    Ok(Written { id: full_id, created: false })
}

/// Updates the live record whose external ID `field` equals the record's value, or inserts one.
pub fn upsert(
    store: &mut Store,
    faults: &mut FaultState,
    object: &str,
    field: &str,
    input: &Input,
    now: i64,
) -> Result<Written, RecordError> {
    let t = store.table_index(object).ok_or_else(|| unknown_type(object))?;
    let key = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .and_then(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| err("MISSING_ARGUMENT", format!("{field} not specified"), &[]))?;
    match store.tables[t].by_external_id.get(key).copied() {
        Some(index) => {
            let id = store.tables[t].id_of(index);
            update(store, faults, object, &id, input, now)
        }
        None => create(store, faults, object, input, now),
    }
}

/// Moves a record to the recycle bin.
pub fn delete(
    store: &mut Store,
    faults: &mut FaultState,
    object: &str,
    id: &str,
    now: i64,
) -> Result<(), RecordError> {
    let t = store.table_index(object).ok_or_else(|| unknown_type(object))?;
    let index = live_row(store, t, id)?;
    if faults.is_readonly(object) {
        return Err(no_access());
    }
    let full_id = store.tables[t].id_of(index);
    if faults.take_lock(&full_id) {
        return Err(locked(&full_id));
    }
    store.tables[t].delete(index, now);
    Ok(())
}

fn unknown_type(object: &str) -> RecordError {
    err("INVALID_TYPE", format!("sObject type '{object}' is not supported."), &[])
}

/// The live row of `id`: a malformed ID, an unknown one and a deleted one each have their code.
pub fn live_row(store: &Store, t: usize, id: &str) -> Result<u32, RecordError> {
    let table = &store.tables[t];
    if crate::salesforce::ids::SalesforceId::parse(id).is_err() {
        return Err(err(
            "MALFORMED_ID",
            format!("{} ID: id value of incorrect type: {id}", table.def.label),
            &["Id"],
        ));
    }
    let index = table
        .find(id)
        .ok_or_else(|| err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", &[]))?;
    if table.rows[index as usize].deleted {
        return Err(err("ENTITY_IS_DELETED", "entity is deleted", &[]));
    }
    Ok(index)
}

/// Builds the row that would be stored, or the first reason it cannot be.
fn prepare(
    store: &Store,
    faults: &FaultState,
    t: usize,
    existing: Option<u32>,
    input: &Input,
    now: i64,
) -> Result<Row, RecordError> {
    let table = &store.tables[t];
    let def = &table.def;
    let mut row = match existing {
        Some(i) => table.rows[i as usize].clone(),
        None => Row::blank(def, now),
    };
    row.modified = now;
    let mut touched = vec![false; def.fields.len()];
    for (key, json) in input {
        if key == "attributes" || (existing.is_some() && key.eq_ignore_ascii_case("Id")) {
            continue;
        }
        let index = def.field_index(key).ok_or_else(|| {
            err(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", def.name),
                &[],
            )
        })?;
        let field = &def.fields[index];
        if !field.writable || index < SYSTEM_FIELDS {
            return Err(err(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", field.name),
                &[field.name],
            ));
        }
        let value = convert(field.ty, field.label, field.name, json)?;
        if let Value::Text(s) = &value {
            let len = s.chars().count() as u32;
            if field.length > 0 && len > field.length {
                let shown: String = s.chars().take(40).collect();
                return Err(err(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {shown} (max length={})",
                        field.label, field.length
                    ),
                    &[field.name],
                ));
            }
            if field.ty == FieldType::Email && !is_valid_email(s) {
                return Err(err(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {s}", field.label),
                    &[field.name],
                ));
            }
            if field.restricted && !field.picklist.contains(&&**s) {
                return Err(err(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{}: bad value for restricted picklist field: {s}", field.label),
                    &[field.name],
                ));
            }
            if field.ty == FieldType::Reference && !store.live_reference(field.reference_to, s) {
                return Err(err(
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("{}: invalid cross reference id", field.label),
                    &[field.name],
                ));
            }
        }
        row.set(index, value);
        touched[index] = true;
    }
    if existing.is_none() {
        for (i, f) in def.fields.iter().enumerate().skip(SYSTEM_FIELDS) {
            if let (Some(d), false) = (f.default, touched[i]) {
                row.set(i, Value::text(d));
            }
        }
    }
    let missing: Vec<&str> = def
        .fields
        .iter()
        .enumerate()
        .skip(SYSTEM_FIELDS)
        .filter(|(i, f)| f.required && row.own(*i).is_blank())
        .map(|(_, f)| f.name)
        .collect();
    if !missing.is_empty() {
        return Err(err(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            &missing,
        ));
    }
    for rule in faults.validation_rules.iter().filter(|r| r.object.eq_ignore_ascii_case(def.name)) {
        let value = def.field_index(&rule.field).map(|i| {
            if i >= SYSTEM_FIELDS {
                row.own(i).clone()
            } else {
                Value::Null
            }
        });
        if rule.condition.holds(value.as_ref().and_then(Value::as_text)) {
            let field = def.field_index(&rule.field).map(|i| def.fields[i].name);
            return Err(err(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                rule.message.clone(),
                field.as_slice(),
            ));
        }
    }
    if def.duplicate_rule_on_email {
        if let Some(email) = def.field_index("Email").and_then(|i| row.own(i).as_text()) {
            let others = table.by_email.get(email.to_ascii_lowercase().as_str());
            let matched: Vec<String> = others
                .into_iter()
                .flatten()
                .filter(|&&r| Some(r) != existing)
                .map(|&r| table.id_of(r))
                .collect();
            if !matched.is_empty() {
                return Err(duplicates(def.name, &matched));
            }
        }
    }
    Ok(row)
}

fn convert(
    ty: FieldType,
    label: &str,
    name: &str,
    json: &serde_json::Value,
) -> Result<Value, RecordError> {
    use serde_json::Value as J;
    let wrong = || {
        err(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            format!("{label}: value not of required type: {json}"),
            &[name],
        )
    };
    Ok(match (ty, json) {
        (_, J::Null) => Value::Null,
        (FieldType::Boolean, J::Bool(b)) => Value::Bool(*b),
        (FieldType::Currency, J::Number(n)) => Value::Number(n.as_f64().ok_or_else(wrong)?),
        (FieldType::DateTime, J::String(s)) => {
            Value::DateTime(datetime::parse(s).map_err(|_| wrong())?.timestamp_millis())
        }
        (FieldType::Date, J::String(s)) => {
            datetime::parse_date(s).map_err(|_| wrong())?;
            Value::text(s.clone())
        }
        // Salesforce treats an empty string as clearing the field.
        (t, J::String(s)) if t.is_text() && s.is_empty() => Value::Null,
        (t, J::String(s)) if t.is_text() => Value::text(s.clone()),
        _ => return Err(wrong()),
    })
}

/// A deliberately plain check, close to what Salesforce accepts: one `@`, something before it,
/// a dotted domain after it, no spaces or commas.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')' | '"'))
}

#[cfg(test)]
mod tests;
