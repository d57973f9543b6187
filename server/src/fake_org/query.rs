//! Runs a parsed SOQL query against the store and serves its result page by page. The matching
//! rows are fixed when the query runs (a list of row positions); each page is rendered from the
//! rows' current values, and a locator names a cursor and an offset, so any page can be fetched
//! again, as Salesforce allows.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query_more_results.htm>

use super::schema::{FieldType, ObjectDef, SYSTEM_FIELDS};
use super::soql::{Condition, Expr, Literal, Op, Query, Test};
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
    filter: Option<Filter>,
    order: Vec<(usize, bool, bool)>,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// A WHERE clause with field positions and literals as stored values.
#[derive(Debug)]
enum Filter {
    Compare(usize, Op, Value),
    /// `[from, to)` days: a date literal (datetimes in ms, dates as `YYYY-MM-DD` text).
    Days(usize, Op, Value, Value),
    In(usize, Vec<Value>),
    NotIn(usize, Vec<Value>),
    Like(usize, Vec<char>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
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
    let filter = query.filter.as_ref().map(|e| bind_expr(e, def, &resolve)).transpose()?;
    let order = query
        .order
        .iter()
        .map(|o| resolve(&o.field).map(|i| (i, o.descending, o.nulls_last)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bound { table, fields, filter, order, limit: query.limit, offset: query.offset })
}

fn bind_expr(
    e: &Expr,
    def: &ObjectDef,
    resolve: &dyn Fn(&str) -> Result<usize, ApiErrorBody>,
) -> Result<Filter, ApiErrorBody> {
    let all = |v: &[Expr]| v.iter().map(|e| bind_expr(e, def, resolve)).collect::<Result<_, _>>();
    Ok(match e {
        Expr::And(v) => Filter::And(all(v)?),
        Expr::Or(v) => Filter::Or(all(v)?),
        Expr::Not(e) => Filter::Not(Box::new(bind_expr(e, def, resolve)?)),
        Expr::Test(c) => bind_condition(c, def, resolve(&c.field)?)?,
    })
}

fn bind_condition(c: &Condition, def: &ObjectDef, index: usize) -> Result<Filter, ApiErrorBody> {
    let field = &def.fields[index];
    let wrong_type = || {
        invalid_field(format!(
            "value of filter criterion for field '{}' must be of type {} and should not be enclosed in quotes",
            field.name,
            field.ty.wire_name()
        ))
    };
    let fits = |l: &Literal, op: Op| match (l, field.ty) {
        (Literal::Null, _) => matches!(op, Op::Eq | Op::Ne),
        (Literal::Bool(_), FieldType::Boolean) => matches!(op, Op::Eq | Op::Ne),
        (Literal::Number(_), FieldType::Currency) => true,
        (Literal::DateTime(_), FieldType::DateTime) => true,
        (Literal::Date(_), FieldType::Date) => true,
        (Literal::Days { .. }, FieldType::DateTime | FieldType::Date) => true,
        (Literal::String(_), ty) => ty.is_text(),
        _ => false,
    };
    Ok(match &c.test {
        Test::Compare(op, Literal::Days { from, to }) => {
            if !fits(&Literal::Days { from: *from, to: *to }, *op) {
                return Err(wrong_type());
            }
            let bound = |ms: i64| match field.ty {
                FieldType::Date => Value::text(
                    chrono::DateTime::from_timestamp_millis(ms)
                        .unwrap_or_default()
                        .format("%Y-%m-%d")
                        .to_string(),
                ),
                _ => Value::DateTime(ms),
            };
            Filter::Days(index, *op, bound(*from), bound(*to))
        }
        Test::Compare(op, l) => {
            if !fits(l, *op) {
                return Err(wrong_type());
            }
            Filter::Compare(index, *op, literal_value(l))
        }
        Test::In(values) | Test::NotIn(values) => {
            if values.iter().any(|l| matches!(l, Literal::Days { .. }) || !fits(l, Op::Eq)) {
                return Err(wrong_type());
            }
            let values = values.iter().map(literal_value).collect();
            match c.test {
                Test::In(_) => Filter::In(index, values),
                _ => Filter::NotIn(index, values),
            }
        }
        Test::Like(pattern) => {
            if !field.ty.is_text() {
                return Err(invalid_field(format!(
                    "invalid operator on {} field: {}",
                    field.ty.wire_name(),
                    field.name
                )));
            }
            Filter::Like(index, pattern.to_lowercase().chars().collect())
        }
    })
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
        // Bound apart ([`Filter::Days`]); never compared as one value.
        Literal::Days { from, .. } => Value::DateTime(*from),
    }
}

/// Whether `value` falls in the days `[from, to)` as `op` asks: `=` inside, `<` before them,
/// `<=` before their end, `>` after them, `>=` from their start.
fn in_days(value: &Value, op: Op, from: &Value, to: &Value) -> bool {
    if value.is_blank() {
        return op == Op::Ne;
    }
    let after_start = compare(value, from) != Ordering::Less;
    let before_end = compare(value, to) == Ordering::Less;
    match op {
        Op::Eq => after_start && before_end,
        Op::Ne => !(after_start && before_end),
        Op::Lt => !after_start,
        Op::Le => before_end,
        Op::Gt => !before_end,
        Op::Ge => after_start,
    }
}

/// SOQL's LIKE: `%` any run of characters, `_` exactly one, `\` escapes either; case-insensitive
/// (`pattern` is lower-cased).
fn like(text: &str, pattern: &[char]) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    fn at(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|skip| at(&t[skip..], &p[1..])),
            Some('_') => !t.is_empty() && at(&t[1..], &p[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && at(&t[1..], &p[2..]),
            Some(c) => t.first() == Some(c) && at(&t[1..], &p[1..]),
        }
    }
    at(&text, pattern)
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
    let mut rows: Vec<u32> = (0..table.rows.len() as u32)
        .filter(|&r| {
            (include_deleted || !table.rows[r as usize].deleted)
                && bound.filter.as_ref().is_none_or(|f| holds(f, table, r))
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
    if let Some(offset) = bound.offset {
        rows.drain(..usize::try_from(offset).unwrap_or(usize::MAX).min(rows.len()));
    }
    if let Some(limit) = bound.limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    rows
}

/// Whether row `r` passes `filter`.
fn holds(filter: &Filter, table: &Table, r: u32) -> bool {
    let value = |f: usize| {
        if f >= SYSTEM_FIELDS {
            std::borrow::Cow::Borrowed(table.rows[r as usize].own(f))
        } else {
            std::borrow::Cow::Owned(table.get(r, f))
        }
    };
    match filter {
        Filter::Compare(f, op, lit) => matches(&value(*f), *op, lit),
        Filter::Days(f, op, from, to) => in_days(&value(*f), *op, from, to),
        Filter::In(f, values) => {
            let v = value(*f);
            values.iter().any(|lit| matches(&v, Op::Eq, lit))
        }
        Filter::NotIn(f, values) => {
            let v = value(*f);
            values.iter().all(|lit| matches(&v, Op::Ne, lit))
        }
        Filter::Like(f, pattern) => value(*f).as_text().is_some_and(|t| like(t, pattern)),
        Filter::And(all) => all.iter().all(|f| holds(f, table, r)),
        Filter::Or(any) => any.iter().any(|f| holds(f, table, r)),
        Filter::Not(f) => !holds(f, table, r),
    }
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
