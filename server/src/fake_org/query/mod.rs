//! Runs a parsed SOQL query against the store and serves its result page by page. The matching
//! rows are fixed when the query runs (a list of row positions); each page is rendered from the
//! rows' current values, and a locator names a cursor and an offset, so any page can be fetched
//! again, as Salesforce allows.
//!
//! - [`bind`]: names and literals checked against the schema;
//! - this module: the rows a bound query selects, in its order, and the open cursors;
//! - [`render`]: records as Salesforce writes them.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query_more_results.htm>

mod bind;
mod render;

pub use bind::{bind, Bound, Parent};
pub use render::{write_query_records, write_records};

use super::schema::SYSTEM_FIELDS;
use super::soql::Op;
use super::store::{Store, Table, Value};
use bind::{FieldRef, Filter};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

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
pub fn execute(bound: &Bound, store: &Store, include_deleted: bool) -> Vec<u32> {
    let table = &store.tables[bound.table];
    let mut rows: Vec<u32> = (0..table.rows.len() as u32)
        .filter(|&r| {
            (include_deleted || !table.rows[r as usize].deleted)
                && bound.filter.as_ref().is_none_or(|f| holds(f, store, table, r))
        })
        .collect();
    if !bound.order.is_empty() {
        rows.sort_by(|&a, &b| {
            for &(field, descending, nulls_last) in &bound.order {
                let (va, vb) = (value_of(store, table, a, field), value_of(store, table, b, field));
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

/// A field of row `r` of `table`; a parent's field is null when the reference is empty or names
/// a deleted record.
fn value_of<'t>(store: &'t Store, table: &'t Table, r: u32, field: FieldRef) -> Cow<'t, Value> {
    match field {
        FieldRef::Own(f) if f >= SYSTEM_FIELDS => Cow::Borrowed(table.rows[r as usize].own(f)),
        FieldRef::Own(f) => Cow::Owned(table.get(r, f)),
        FieldRef::Parent { via, table: parent, field } => {
            let parent = &store.tables[parent];
            let row = table.get(r, via);
            match row.as_text().and_then(|id| parent.find(id)) {
                Some(p) if !parent.rows[p as usize].deleted => Cow::Owned(parent.get(p, field)),
                _ => Cow::Owned(Value::Null),
            }
        }
    }
}

/// One selected field, in the order the query names them (Bulk API 2.0's CSV columns).
#[derive(Debug, Clone, Copy)]
pub struct Column(FieldRef);

/// The query's field list, resolved in its order.
pub fn columns(
    query: &super::soql::Query,
    table: usize,
    store: &Store,
) -> Result<Vec<Column>, crate::salesforce::types::ApiErrorBody> {
    query
        .fields
        .iter()
        .map(|name| bind::resolve(store, table, name).map(|(f, _)| Column(f)))
        .collect()
}

/// Row `r`'s value of a selected field.
pub fn column_value(store: &Store, table: usize, r: u32, column: Column) -> Cow<'_, Value> {
    value_of(store, &store.tables[table], r, column.0)
}

/// Whether row `r` passes `filter`.
fn holds(filter: &Filter, store: &Store, table: &Table, r: u32) -> bool {
    let value = |f: FieldRef| value_of(store, table, r, f);
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
        Filter::And(all) => all.iter().all(|f| holds(f, store, table, r)),
        Filter::Or(any) => any.iter().any(|f| holds(f, store, table, r)),
        Filter::Not(f) => !holds(f, store, table, r),
    }
}

/// A query result kept for its locator.
#[derive(Clone)]
pub struct Cursor {
    pub table: usize,
    pub fields: Vec<usize>,
    pub parents: Vec<Parent>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_org::soql::parse;
    use crate::fake_org::store::Row;
    use crate::salesforce::types::ApiErrorBody;

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
        let bound = bind(&q, t, store)?;
        Ok(execute(&bound, store, false))
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
    fn a_parents_field_is_read_through_the_reference_and_null_without_one() {
        let mut store = store_with_emails(&[Some("a@x.io"), Some("b@x.io"), Some("c@x.io")]);
        let accounts = store.table_mut("Account").unwrap();
        let name = accounts.def.field_index("Name").unwrap();
        let mut acme = Row::blank(&accounts.def, 1_000);
        acme.set(name, Value::text("Acme"));
        let acme_row = accounts.insert(acme);
        let acme = accounts.id_of(acme_row);
        let mut gone = Row::blank(&accounts.def, 1_000);
        gone.set(name, Value::text("Gone"));
        let gone_row = accounts.insert(gone);
        let gone = accounts.id_of(gone_row);
        accounts.delete(gone_row, 2_000);
        let contacts = store.table_mut("Contact").unwrap();
        let account = contacts.def.field_index("AccountId").unwrap();
        contacts.rows[0].set(account, Value::text(acme));
        contacts.rows[2].set(account, Value::text(gone));
        assert_eq!(
            run(&store, "SELECT Id FROM Contact WHERE Account.Name = 'acme'").unwrap(),
            vec![0]
        );
        // A deleted parent is no parent.
        assert_eq!(
            run(&store, "SELECT Id FROM Contact WHERE Account.Name = null").unwrap(),
            vec![1, 2]
        );
        let e = run(&store, "SELECT Account.Nope FROM Contact").unwrap_err();
        assert!(e.message.contains("No such column 'Nope' on entity 'Account'"), "{}", e.message);
        let e = run(&store, "SELECT Owner.Name FROM Contact").unwrap_err();
        assert!(e.message.contains("Didn't understand relationship 'Owner'"), "{}", e.message);
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
