//! The SOQL subset sync code uses:
//! `SELECT f, ... FROM Object [WHERE f op literal [AND ...]] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]`.
//! Anything else is a `MALFORMED_QUERY`, as a real org would say for a query it cannot read.
//! This module only parses; names are checked against the schema in `query.rs`.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm>

use crate::salesforce::datetime;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub fields: Vec<String>,
    pub object: String,
    pub filters: Vec<Condition>,
    pub order: Vec<OrderBy>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: Literal,
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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    /// An unquoted literal: a number, a date or a datetime.
    Bare(String),
    Op(Op),
    Comma,
}

fn tokenize(soql: &str) -> Result<Vec<Token>, Malformed> {
    let chars: Vec<char> = soql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(Malformed("unterminated string literal".into())),
                        Some('\\') => {
                            let escaped = chars
                                .get(i + 1)
                                .ok_or_else(|| Malformed("unterminated escape".into()))?;
                            s.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => *other,
                            });
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            s.push(*other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(s));
            }
            '=' => {
                tokens.push(Token::Op(Op::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    _ => (Op::Gt, 1),
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            _ if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], ':' | '.' | '+' | '-'))
                {
                    i += 1;
                }
                tokens.push(Token::Bare(chars[start..i].iter().collect()));
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.'))
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            other => return Err(Malformed(format!("unexpected token: '{other}'"))),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
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
        "select", "from", "where", "and", "or", "not", "order", "by", "limit", "asc", "desc",
        "nulls", "null", "true", "false",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// Parses one SOQL statement of the supported subset.
pub fn parse(soql: &str) -> Result<Query, Malformed> {
    let mut p = Parser { tokens: tokenize(soql)?, pos: 0 };
    p.expect_keyword("SELECT")?;
    let mut fields = vec![p.identifier()?];
    while p.peek() == Some(&Token::Comma) {
        p.pos += 1;
        fields.push(p.identifier()?);
    }
    p.expect_keyword("FROM")?;
    let object = p.identifier()?;
    let mut filters = Vec::new();
    if p.is_keyword("WHERE") {
        p.pos += 1;
        loop {
            let field = p.identifier()?;
            let op = match p.next() {
                Some(Token::Op(op)) => op,
                other => return Err(p.unexpected(other.as_ref())),
            };
            let value = p.literal()?;
            filters.push(Condition { field, op, value });
            if p.is_keyword("AND") {
                p.pos += 1;
            } else {
                break;
            }
        }
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
        match p.next() {
            Some(Token::Bare(n)) => {
                limit = Some(
                    n.parse::<u64>().map_err(|_| Malformed(format!("unexpected token: {n}")))?,
                );
            }
            other => return Err(p.unexpected(other.as_ref())),
        }
    }
    if p.pos < p.tokens.len() {
        return Err(p.unexpected(p.peek()));
    }
    Ok(Query { fields, object, filters, order, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_incremental_sync_query() {
        let q = parse(
            "SELECT Id, Email, SystemModstamp FROM Lead WHERE SystemModstamp > 2024-01-01T00:00:00Z \
             AND IsConverted = false AND Email != null ORDER BY SystemModstamp ASC, Id LIMIT 500",
        )
        .unwrap();
        assert_eq!(q.fields, vec!["Id", "Email", "SystemModstamp"]);
        assert_eq!(q.object, "Lead");
        assert_eq!(q.filters.len(), 3);
        assert_eq!(q.filters[0].value, Literal::DateTime(1_704_067_200_000));
        assert_eq!(q.filters[1].value, Literal::Bool(false));
        assert_eq!(
            q.filters[2],
            Condition { field: "Email".into(), op: Op::Ne, value: Literal::Null }
        );
        assert_eq!(
            q.order[1],
            OrderBy { field: "Id".into(), descending: false, nulls_last: false }
        );
        assert_eq!(q.limit, Some(500));
    }

    #[test]
    fn reads_every_literal_kind() {
        let q = parse("select Id from Opportunity where Amount >= -12.5 and Name = 'O\\'Brien' and CloseDate < 2024-02-01 and CreatedDate <= 2024-01-01T10:00:00.000+0000").unwrap();
        let values: Vec<_> = q.filters.iter().map(|c| c.value.clone()).collect();
        assert_eq!(values[0], Literal::Number(-12.5));
        assert_eq!(values[1], Literal::String("O'Brien".into()));
        assert_eq!(values[2], Literal::Date("2024-02-01".into()));
        assert_eq!(values[3], Literal::DateTime(1_704_103_200_000));
    }

    #[test]
    fn rejects_what_is_outside_the_subset() {
        for bad in [
            "SELECT FROM Lead",
            "SELECT * FROM Lead",
            "SELECT Id FROM Lead WHERE Email = 'a' OR Email = 'b'",
            "SELECT Id FROM Lead WHERE",
            "SELECT Id FROM Lead LIMIT x",
            "SELECT Id FROM Lead ORDER Id",
            "SELECT Id FROM Lead WHERE Name = 'unterminated",
            "SELECT Id FROM Lead WHERE CreatedDate > yesterdayish",
            "UPDATE Lead",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be malformed");
        }
    }

    #[test]
    fn nulls_follow_salesforce_defaults() {
        let q = parse("SELECT Id FROM Lead ORDER BY Email DESC, Phone NULLS LAST, Title DESC NULLS FIRST, Company").unwrap();
        assert!(
            !q.order[0].nulls_last && q.order[0].descending,
            "nulls first by default, even descending"
        );
        assert!(q.order[1].nulls_last && !q.order[1].descending);
        assert!(!q.order[2].nulls_last && q.order[2].descending);
        assert!(!q.order[3].nulls_last && !q.order[3].descending);
        assert!(parse("SELECT Id FROM Lead ORDER BY Email NULLS").is_err());
        assert!(parse("SELECT Id FROM Lead ORDER BY Email NULLS MIDDLE").is_err());
    }
}
