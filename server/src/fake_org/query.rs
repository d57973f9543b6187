//! Runs a parsed SOQL query against the store and serves its result page by page. The matching
//! rows are fixed when the query runs (a list of row positions); each page is rendered from the
//! rows' current values, and a locator names a cursor and an offset, so any page can be fetched
//! again, as Salesforce allows.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query_more_results.htm>

use super::schema::{FieldType, ObjectDef, SYSTEM_FIELDS};
use super::soql::{Literal, Op, Query};
use super::store::{Table, Value};
use crate::salesforce::types::ApiErrorBody;
use serde::ser::{SerializeMap, Serializer};
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A query checked against the schema: field positions instead of names.
#[derive(Debug)]
pub struct Bound {
    pub table: usize,
    pub fields: Vec<usize>,
    filters: Vec<(usize, Op, Literal)>,
    order: Vec<(usize, bool, bool)>,
    limit: Option<u64>,
}

fn invalid_field(message: String) -> ApiErrorBody {
    ApiErrorBody { message, error_code: "INVALID_FIELD".into(), fields: None }
}

/// Resolves names; unknown objects are `INVALID_TYPE`, unknown fields and literals of the wrong
/// type are `INVALID_FIELD`, with Salesforce's wording.
pub fn bind(query: &Query, table: usize, def: &ObjectDef) -> Result<Bound, ApiErrorBody> {
    let resolve = |name: &str| {
        def.field_index(name).ok_or_else(|| {
            invalid_field(format!(
                "\n{name}\n^\nERROR at Row:1:Column:1\nNo such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                def.name
            ))
        })
    };
    let fields = query.fields.iter().map(|f| resolve(f)).collect::<Result<Vec<_>, _>>()?;
    let mut filters = Vec::new();
    for c in &query.filters {
        let index = resolve(&c.field)?;
        let field = &def.fields[index];
        let fits = match (&c.value, field.ty) {
            (Literal::Null, _) => matches!(c.op, Op::Eq | Op::Ne),
            (Literal::Bool(_), FieldType::Boolean) => matches!(c.op, Op::Eq | Op::Ne),
            (Literal::Number(_), FieldType::Currency) => true,
            (Literal::DateTime(_), FieldType::DateTime) => true,
            (Literal::Date(_), FieldType::Date) => true,
            (Literal::String(_), ty) => ty.is_text(),
            _ => false,
        };
        if !fits {
            return Err(invalid_field(format!(
                "value of filter criterion for field '{}' must be of type {} and should not be enclosed in quotes",
                field.name,
                field.ty.wire_name()
            )));
        }
        filters.push((index, c.op, c.value.clone()));
    }
    let order = query
        .order
        .iter()
        .map(|o| resolve(&o.field).map(|i| (i, o.descending, o.nulls_last)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bound { table, fields, filters, order, limit: query.limit })
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        // SOQL compares text case-insensitively.
        (Value::Text(x), Value::Text(y)) => {
            x.bytes().map(|c| c.to_ascii_lowercase()).cmp(y.bytes().map(|c| c.to_ascii_lowercase()))
        }
        _ => Ordering::Equal,
    }
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Number(n) => Value::Number(*n),
        Literal::String(s) | Literal::Date(s) => Value::text(s.clone()),
        Literal::DateTime(ms) => Value::DateTime(*ms),
    }
}

fn matches(value: &Value, op: Op, literal: &Value) -> bool {
    if *literal == Value::Null {
        return match op {
            Op::Eq => value.is_blank(),
            _ => !value.is_blank(),
        };
    }
    if *value == Value::Null {
        return op == Op::Ne;
    }
    let ord = compare(value, literal);
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
    }
}

/// Rows matching the query, in its order (row order, which is creation order, by default).
pub fn execute(bound: &Bound, table: &Table, include_deleted: bool) -> Vec<u32> {
    let filters: Vec<(usize, Op, Value)> =
        bound.filters.iter().map(|(f, op, l)| (*f, *op, literal_value(l))).collect();
    let mut rows: Vec<u32> = (0..table.rows.len() as u32)
        .filter(|&r| {
            let row = &table.rows[r as usize];
            (include_deleted || !row.deleted)
                && filters.iter().all(|(f, op, lit)| {
                    if *f >= SYSTEM_FIELDS {
                        matches(row.own(*f), *op, lit)
                    } else {
                        matches(&table.get(r, *f), *op, lit)
                    }
                })
        })
        .collect();
    if !bound.order.is_empty() {
        rows.sort_by(|&a, &b| {
            for &(field, descending, nulls_last) in &bound.order {
                let (va, vb) = (table.get(a, field), table.get(b, field));
                let ord = match (va.is_blank(), vb.is_blank()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let o = compare(&va, &vb);
                        if descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.cmp(&b)
        });
    }
    if let Some(limit) = bound.limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    rows
}

/// A query result kept for its locator.
pub struct Cursor {
    pub table: usize,
    pub fields: Vec<usize>,
    pub rows: Arc<[u32]>,
    pub batch_size: usize,
}

/// Open cursors. Salesforce keeps a bounded number per user and drops the oldest; so do we, so
/// that an abandoned million-row query does not pin memory for ever.
pub struct Cursors {
    open: HashMap<String, Arc<Cursor>>,
    order: VecDeque<String>,
    next: u64,
    cap: usize,
}

impl Cursors {
    pub fn new(cap: usize) -> Self {
        Cursors { open: HashMap::new(), order: VecDeque::new(), next: 1, cap }
    }

    /// Keeps a cursor and returns its locator id (`01g...`, the key prefix of query locators).
    pub fn open(&mut self, cursor: Cursor) -> String {
        let id = super::store::encode_id("01g", (self.next % u64::from(u32::MAX)) as u32);
        self.next += 1;
        self.open.insert(id.clone(), Arc::new(cursor));
        self.order.push_back(id.clone());
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.open.remove(&old);
            }
        }
        id
    }

    pub fn get(&self, id: &str) -> Option<Arc<Cursor>> {
        self.open.get(id).cloned()
    }
}

/// Splits a locator `01g...-2000` into the cursor id and the offset of the page.
pub fn parse_locator(locator: &str) -> Option<(&str, usize)> {
    let (id, offset) = locator.rsplit_once('-')?;
    Some((id, offset.parse().ok()?))
}

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
    let _ = ser.collect_seq(rows.iter().map(|&r| RecordView { table, fields, row: r, version }));
}

struct RecordView<'a> {
    table: &'a Table,
    fields: &'a [usize],
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
            if f == super::schema::ID {
                map.serialize_entry(key, &id)?;
            } else if f >= SYSTEM_FIELDS {
                map.serialize_entry(key, row.own(f))?;
            } else {
                map.serialize_entry(key, &self.table.get(self.row, f))?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_org::soql::parse;
    use crate::fake_org::store::{Row, Store};

    fn store_with_emails(emails: &[Option<&str>]) -> Store {
        let mut store = Store::new();
        let table = store.table_mut("Contact").unwrap();
        let email = table.def.field_index("Email").unwrap();
        for (i, e) in emails.iter().enumerate() {
            let mut row = Row::blank(&table.def, 1_000 + i as i64);
            row.set(email, e.map(Value::text).unwrap_or(Value::Null));
            table.insert(row);
        }
        store
    }

    fn run(store: &Store, soql: &str) -> Result<Vec<u32>, ApiErrorBody> {
        let q = parse(soql).unwrap();
        let t = store.table_index(&q.object).unwrap();
        let bound = bind(&q, t, &store.tables[t].def)?;
        Ok(execute(&bound, &store.tables[t], false))
    }

    #[test]
    fn filters_orders_and_limits() {
        let store = store_with_emails(&[Some("b@x.io"), None, Some("A@x.io"), Some("c@x.io")]);
        assert_eq!(
            run(&store, "SELECT Id FROM Contact WHERE Email != null ORDER BY Email").unwrap(),
            vec![2, 0, 3]
        );
        // Nulls first by default, descending too (the SOQL reference); NULLS LAST moves them.
        assert_eq!(
            run(&store, "SELECT Id FROM Contact ORDER BY Email DESC LIMIT 2").unwrap(),
            vec![1, 3]
        );
        assert_eq!(
            run(&store, "SELECT Id FROM Contact ORDER BY Email DESC NULLS LAST LIMIT 2").unwrap(),
            vec![3, 0]
        );
        assert_eq!(run(&store, "SELECT Id FROM Contact WHERE Email = 'a@X.io'").unwrap(), vec![2]);
        assert_eq!(
            run(&store, "SELECT Id FROM Contact WHERE CreatedDate >= 1970-01-01T00:00:01.002Z")
                .unwrap(),
            vec![2, 3]
        );
    }

    #[test]
    fn unknown_fields_and_mistyped_literals_are_invalid_field() {
        let store = store_with_emails(&[]);
        let e = run(&store, "SELECT Nope FROM Contact").unwrap_err();
        assert_eq!(e.error_code, "INVALID_FIELD");
        assert!(e.message.contains("No such column 'Nope' on entity 'Contact'"));
        let e = run(&store, "SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01'").unwrap_err();
        assert!(e.message.contains("must be of type datetime"));
    }

    #[test]
    fn locators_split_into_cursor_and_offset() {
        assert_eq!(parse_locator("01g000000000001AAA-4000"), Some(("01g000000000001AAA", 4000)));
        assert_eq!(parse_locator("nonsense"), None);
    }
}
