//! The SOQL that integrations send, parsed:
//!
//! ```text
//! SELECT f, ... | COUNT()  FROM Object
//!   [WHERE condition [AND|OR condition ...]]   conditions: f op literal, f [NOT] IN (literal, ...),
//!                                              f LIKE 'pattern', NOT condition, ( ... )
//!   [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
//! ```
//!
//! Literals: strings, numbers, `true`/`false`/`null`, dates, datetimes and the date literals
//! `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n`, `NEXT_N_DAYS:n` (UTC days). As in
//! Salesforce, AND and OR cannot be mixed at one level without parentheses, `COUNT()` stands
//! alone and takes no ORDER BY. Anything else is a `MALFORMED_QUERY`, as a real org would say for
//! a query it cannot read. This module only parses; names and types are checked against the
//! schema in `query.rs`.
//!
//! Docs: <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm>

mod lex;
#[cfg(test)]
mod tests;

use crate::salesforce::datetime;
use lex::{tokenize, Token};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Empty for `COUNT()`.
    pub fields: Vec<String>,
    /// `SELECT COUNT()`: only the number of matching rows is answered.
    pub count: bool,
    pub object: String,
    pub filter: Option<Expr>,
    pub order: Vec<OrderBy>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A WHERE clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Test(Condition),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Compare(Op, Literal),
    In(Vec<Literal>),
    NotIn(Vec<Literal>),
    /// `%` any characters, `_` one; case-insensitive.
    Like(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// Milliseconds since the epoch, UTC.
    DateTime(i64),
    /// `YYYY-MM-DD`, compared as text (it sorts like the date).
    Date(String),
    /// A date literal (`TODAY`, `LAST_N_DAYS:7`): the UTC days `[from, to)`, in milliseconds.
    Days {
        from: i64,
        to: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: String,
    pub descending: bool,
    pub nulls_last: bool,
}

/// A `MALFORMED_QUERY` message in Salesforce's style.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

const DAY_MS: i64 = 86_400_000;

/// A date literal's days, counted from the UTC day holding `now`.
fn date_literal(word: &str, now: i64) -> Option<Literal> {
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let days = |from: i64, to: i64| Some(Literal::Days { from, to });
    let upper = word.to_ascii_uppercase();
    match upper.as_str() {
        "TODAY" => days(today, today + DAY_MS),
        "YESTERDAY" => days(today - DAY_MS, today),
        "TOMORROW" => days(today + DAY_MS, today + 2 * DAY_MS),
        _ => {
            let (name, n) = upper.split_once(':')?;
            let n: i64 = n.parse().ok().filter(|n| *n <= 100_000)?;
            match name {
                // "Starts with the current day and continues for the past n days."
                "LAST_N_DAYS" => days(today - n * DAY_MS, today + DAY_MS),
                // "Starts 00:00:00 of the next day and continues for the next n days."
                "NEXT_N_DAYS" => days(today + DAY_MS, today + (n + 1) * DAY_MS),
                _ => None,
            }
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Milliseconds since the epoch, for date literals.
    now: i64,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn unexpected(&self, found: Option<&Token>) -> Malformed {
        let what = match found {
            None => "<EOF>".to_string(),
            Some(Token::Word(w)) | Some(Token::Bare(w)) => w.clone(),
            Some(Token::Str(s)) => format!("'{s}'"),
            Some(Token::Op(op)) => format!("{op:?}"),
            Some(Token::Comma) => ",".to_string(),
            Some(Token::Open) => "(".to_string(),
            Some(Token::Close) => ")".to_string(),
        };
        Malformed(format!("unexpected token: {what}"))
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), Malformed> {
        if self.is_keyword(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(self.peek()))
        }
    }

    fn identifier(&mut self) -> Result<String, Malformed> {
        match self.peek() {
            Some(Token::Word(w)) if !is_reserved(w) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            other => Err(self.unexpected(other)),
        }
    }

    fn literal(&mut self) -> Result<Literal, Malformed> {
        let token = self.next();
        match &token {
            Some(Token::Str(s)) => Ok(Literal::String(s.clone())),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Token::Word(w)) => date_literal(w, self.now).ok_or_else(|| {
                Malformed(format!("line 1:0 no viable alternative at character '{w}'"))
            }),
            Some(Token::Bare(b)) => {
                if let Ok(n) = b.parse::<f64>() {
                    return Ok(Literal::Number(n));
                }
                if let Ok(dt) = datetime::parse(b) {
                    return Ok(Literal::DateTime(dt.timestamp_millis()));
                }
                if datetime::parse_date(b).is_ok() {
                    return Ok(Literal::Date(b.clone()));
                }
                Err(Malformed(format!("line 1:0 no viable alternative at character '{b}'")))
            }
            other => Err(self.unexpected(other.as_ref())),
        }
    }
}

fn is_reserved(word: &str) -> bool {
    [
        "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "limit",
        "offset", "asc", "desc", "nulls", "null", "true", "false",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// The WHERE clause: conditions joined by AND or by OR (not both at one level), NOT, parentheses.
impl Parser {
    fn expr(&mut self) -> Result<Expr, Malformed> {
        let first = self.term()?;
        let joiner = if self.is_keyword("AND") {
            "AND"
        } else if self.is_keyword("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut terms = vec![first];
        while self.is_keyword(joiner) {
            self.pos += 1;
            terms.push(self.term()?);
        }
        // `a AND b OR c` is ambiguous to Salesforce too: it asks for parentheses.
        if self.is_keyword("AND") || self.is_keyword("OR") {
            return Err(self.unexpected(self.peek()));
        }
        Ok(if joiner == "AND" { Expr::And(terms) } else { Expr::Or(terms) })
    }

    fn term(&mut self) -> Result<Expr, Malformed> {
        if self.is_keyword("NOT") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.term()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.expr()?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                other => Err(self.unexpected(other.as_ref())),
            };
        }
        let field = self.identifier()?;
        let test = if self.is_keyword("IN") {
            self.pos += 1;
            Test::In(self.list()?)
        } else if self.is_keyword("NOT") {
            self.pos += 1;
            self.expect_keyword("IN")?;
            Test::NotIn(self.list()?)
        } else if self.is_keyword("LIKE") {
            self.pos += 1;
            match self.next() {
                Some(Token::Str(pattern)) => Test::Like(pattern),
                other => return Err(self.unexpected(other.as_ref())),
            }
        } else {
            match self.next() {
                Some(Token::Op(op)) => Test::Compare(op, self.literal()?),
                other => return Err(self.unexpected(other.as_ref())),
            }
        };
        Ok(Expr::Test(Condition { field, test }))
    }

    /// `(literal, ...)`, at least one.
    fn list(&mut self) -> Result<Vec<Literal>, Malformed> {
        match self.next() {
            Some(Token::Open) => {}
            other => return Err(self.unexpected(other.as_ref())),
        }
        let mut values = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Token::Comma) => values.push(self.literal()?),
                Some(Token::Close) => return Ok(values),
                other => return Err(self.unexpected(other.as_ref())),
            }
        }
    }

    /// The number after LIMIT or OFFSET.
    fn count_of(&mut self, clause: &str) -> Result<u64, Malformed> {
        match self.next() {
            Some(Token::Bare(n)) => n.parse::<u64>().map_err(|_| {
                Malformed(format!("{clause} must be a non-negative integer, found: {n}"))
            }),
            other => Err(self.unexpected(other.as_ref())),
        }
    }
}

/// Parses one SOQL statement of the supported subset; date literals count from now.
pub fn parse(soql: &str) -> Result<Query, Malformed> {
    parse_at(soql, chrono::Utc::now().timestamp_millis())
}

/// [`parse`], with date literals counted from `now` (Unix ms).
pub fn parse_at(soql: &str, now: i64) -> Result<Query, Malformed> {
    let mut p = Parser { tokens: tokenize(soql)?, pos: 0, now };
    p.expect_keyword("SELECT")?;
    let count = p.is_keyword("COUNT") && p.tokens.get(p.pos + 1) == Some(&Token::Open);
    let mut fields = Vec::new();
    if count {
        p.pos += 2;
        match p.next() {
            Some(Token::Close) => {}
            // COUNT(fieldName) returns its count in an aggregate record: not in this subset.
            other => return Err(p.unexpected(other.as_ref())),
        }
    } else {
        fields.push(p.identifier()?);
        while p.peek() == Some(&Token::Comma) {
            p.pos += 1;
            fields.push(p.identifier()?);
        }
    }
    p.expect_keyword("FROM")?;
    let object = p.identifier()?;
    let mut filter = None;
    if p.is_keyword("WHERE") {
        p.pos += 1;
        filter = Some(p.expr()?);
    }
    let mut order = Vec::new();
    if p.is_keyword("ORDER") {
        p.pos += 1;
        p.expect_keyword("BY")?;
        loop {
            let field = p.identifier()?;
            let mut descending = false;
            if p.is_keyword("ASC") {
                p.pos += 1;
            } else if p.is_keyword("DESC") {
                p.pos += 1;
                descending = true;
            }
            // "By default, null values are sorted first", whatever the direction.
            // Doc: <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm>
            let mut nulls_last = false;
            if p.is_keyword("NULLS") {
                p.pos += 1;
                if p.is_keyword("FIRST") {
                    nulls_last = false;
                } else if p.is_keyword("LAST") {
                    nulls_last = true;
                } else {
                    return Err(p.unexpected(p.peek()));
                }
                p.pos += 1;
            }
            order.push(OrderBy { field, descending, nulls_last });
            if p.peek() == Some(&Token::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    let mut limit = None;
    if p.is_keyword("LIMIT") {
        p.pos += 1;
        limit = Some(p.count_of("LIMIT")?);
    }
    let mut offset = None;
    if p.is_keyword("OFFSET") {
        p.pos += 1;
        offset = Some(p.count_of("OFFSET")?);
    }
    if p.pos < p.tokens.len() {
        return Err(p.unexpected(p.peek()));
    }
    if count && !order.is_empty() {
        return Err(Malformed("COUNT() cannot be used with ORDER BY".into()));
    }
    Ok(Query { fields, count, object, filter, order, limit, offset })
}
