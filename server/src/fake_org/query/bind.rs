//! A parsed query checked against the schema: names resolved to field positions (a parent's
//! through its reference field), literals checked against the fields' types and turned into
//! stored values, with Salesforce's errors for what does not fit.

use crate::fake_org::schema::{relationship_name, FieldDef, FieldType};
use crate::fake_org::soql::{Condition, Expr, Literal, Op, Query, Test};
use crate::fake_org::store::{Store, Value};
use crate::salesforce::types::ApiErrorBody;

/// A query checked against the schema: field positions instead of names.
#[derive(Debug)]
pub struct Bound {
    pub table: usize,
    pub fields: Vec<usize>,
    /// Parent fields selected (`Account.Name`), grouped by relationship.
    pub parents: Vec<Parent>,
    pub(super) filter: Option<Filter>,
    pub(super) order: Vec<(FieldRef, bool, bool)>,
    pub(super) limit: Option<u64>,
    pub(super) offset: Option<u64>,
}

/// A field a query reads: the record's own, or its parent's through a reference field
/// (`Account.Name` through `AccountId`).
#[derive(Debug, Clone, Copy)]
pub(super) enum FieldRef {
    Own(usize),
    Parent { via: usize, table: usize, field: usize },
}

/// The fields selected through one relationship (`Account.Name, Account.Industry`): one nested
/// record in each result, `null` when the reference is empty.
#[derive(Debug, Clone)]
pub struct Parent {
    /// The relationship's name (`Account`, `Contact__r`), the key of the nested record.
    pub(super) name: String,
    pub(super) via: usize,
    pub(super) table: usize,
    pub(super) fields: Vec<usize>,
}

/// A WHERE clause with field references and literals as stored values.
#[derive(Debug)]
pub(super) enum Filter {
    Compare(FieldRef, Op, Value),
    /// `[from, to)` days: a date literal (datetimes in ms, dates as `YYYY-MM-DD` text).
    Days(FieldRef, Op, Value, Value),
    In(FieldRef, Vec<Value>),
    NotIn(FieldRef, Vec<Value>),
    Like(FieldRef, Vec<char>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

fn invalid_field(message: String) -> ApiErrorBody {
    ApiErrorBody { message, error_code: "INVALID_FIELD".into(), fields: None }
}

fn no_such_column(name: &str, object: &str) -> ApiErrorBody {
    invalid_field(format!(
        "\n{name}\n^\nERROR at Row:1:Column:1\nNo such column '{name}' on entity '{object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    ))
}

/// A field name of `table`'s records: its own (`Email`) or a parent's (`Account.Name`).
pub(super) fn resolve<'s>(
    store: &'s Store,
    table: usize,
    name: &str,
) -> Result<(FieldRef, &'s FieldDef), ApiErrorBody> {
    let def = &store.tables[table].def;
    let Some((relationship, name)) = name.split_once('.') else {
        let index = def.field_index(name).ok_or_else(|| no_such_column(name, def.name))?;
        return Ok((FieldRef::Own(index), &def.fields[index]));
    };
    let via = def
        .fields
        .iter()
        .position(|f| relationship_name(f).is_some_and(|r| r.eq_ignore_ascii_case(relationship)));
    let parent = via.and_then(|v| {
        def.fields[v].reference_to.first().and_then(|o| store.table_index(o)).map(|t| (v, t))
    });
    let Some((via, parent)) = parent else {
        return Err(invalid_field(format!(
            "\n{relationship}.{name}\n^\nERROR at Row:1:Column:1\nDidn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        )));
    };
    let pdef = &store.tables[parent].def;
    let field = pdef.field_index(name).ok_or_else(|| no_such_column(name, pdef.name))?;
    Ok((FieldRef::Parent { via, table: parent, field }, &pdef.fields[field]))
}

/// Resolves names; unknown objects are `INVALID_TYPE`, unknown fields and relationships and
/// literals of the wrong type are `INVALID_FIELD`, with Salesforce's wording.
pub fn bind(query: &Query, table: usize, store: &Store) -> Result<Bound, ApiErrorBody> {
    let mut fields = Vec::new();
    let mut parents: Vec<Parent> = Vec::new();
    for name in &query.fields {
        match resolve(store, table, name)?.0 {
            FieldRef::Own(f) => fields.push(f),
            FieldRef::Parent { via, table: parent, field } => {
                match parents.iter_mut().find(|p| p.via == via) {
                    Some(p) if p.fields.contains(&field) => {}
                    Some(p) => p.fields.push(field),
                    None => parents.push(Parent {
                        name: relationship_name(&store.tables[table].def.fields[via])
                            .unwrap_or_default(),
                        via,
                        table: parent,
                        fields: vec![field],
                    }),
                }
            }
        }
    }
    let filter = query.filter.as_ref().map(|e| bind_expr(e, store, table)).transpose()?;
    let order = query
        .order
        .iter()
        .map(|o| resolve(store, table, &o.field).map(|(f, _)| (f, o.descending, o.nulls_last)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bound { table, fields, parents, filter, order, limit: query.limit, offset: query.offset })
}

fn bind_expr(e: &Expr, store: &Store, table: usize) -> Result<Filter, ApiErrorBody> {
    let all = |v: &[Expr]| v.iter().map(|e| bind_expr(e, store, table)).collect::<Result<_, _>>();
    Ok(match e {
        Expr::And(v) => Filter::And(all(v)?),
        Expr::Or(v) => Filter::Or(all(v)?),
        Expr::Not(e) => Filter::Not(Box::new(bind_expr(e, store, table)?)),
        Expr::Test(c) => {
            let (index, field) = resolve(store, table, &c.field)?;
            bind_condition(c, field, index)?
        }
    })
}

fn bind_condition(
    c: &Condition,
    field: &FieldDef,
    index: FieldRef,
) -> Result<Filter, ApiErrorBody> {
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
