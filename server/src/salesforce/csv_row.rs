//! A row of Bulk API 2.0 results read as a record, through the same `Deserialize` as a record of
//! a REST query page: each cell is offered to the record's visitor by its column's name, an empty
//! cell as null, `true`/`false` as booleans and numbers parsed where the record reads a number.
//! So a caller's record type reads the same whichever API brought it.

use serde::de::value::{Error, MapDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Decodes one row (`cells`, in the order of `fields`; `None` for an empty cell) into a `T`.
pub fn from_row<'a, T: DeserializeOwned>(
    fields: &'a [String],
    cells: impl Iterator<Item = Option<&'a str>>,
) -> Result<T, Error> {
    let entries = fields.iter().map(String::as_str).zip(cells.map(Cell));
    // Every cell is taken: the deserializer checks none is left over.
    T::deserialize(MapDeserializer::new(entries))
}

/// One cell: `None` for an empty one (null).
struct Cell<'a>(Option<&'a str>);

impl<'de, 'a> IntoDeserializer<'de, Error> for Cell<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl Cell<'_> {
    fn text(&self) -> Result<&str, Error> {
        self.0.ok_or_else(|| de::Error::custom("an empty cell where a value is needed"))
    }
}

impl<'de> de::Deserializer<'de> for Cell<'_> {
    type Error = Error;

    /// Text, or null: what a cell is unless the record asks for a type.
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            None => v.visit_none(),
            Some(s) => v.visit_str(s),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            None => v.visit_none(),
            Some(_) => v.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.text()? {
            "true" => v.visit_bool(true),
            "false" => v.visit_bool(false),
            other => Err(de::Error::custom(format!("{other:?} is not true or false"))),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let text = self.text()?;
        let n: f64 =
            text.parse().map_err(|_| de::Error::custom(format!("{text:?} is not a number")))?;
        v.visit_f64(n)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let text = self.text()?;
        let n: i64 = text
            .parse()
            .map_err(|_| de::Error::custom(format!("{text:?} is not a whole number")))?;
        v.visit_i64(n)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let text = self.text()?;
        let n: u64 = text
            .parse()
            .map_err(|_| de::Error::custom(format!("{text:?} is not a whole number")))?;
        v.visit_u64(n)
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Contact {
        id: String,
        is_deleted: Option<bool>,
        amount: Option<f64>,
        phone: Option<String>,
        title: Option<String>,
    }

    fn row<'a>(cells: &'a [&'a str]) -> impl Iterator<Item = Option<&'a str>> {
        cells.iter().map(|c| (!c.is_empty()).then_some(*c))
    }

    #[test]
    fn a_row_reads_as_the_same_record_as_its_json() {
        let fields: Vec<String> =
            ["Id", "IsDeleted", "Amount", "Phone", "Title"].map(String::from).to_vec();
        let from_csv: Contact =
            from_row(&fields, row(&["003A", "false", "12.5", "5551234", ""])).unwrap();
        let from_json: Contact = serde_json::from_str(
            r#"{"Id":"003A","IsDeleted":false,"Amount":12.5,"Phone":"5551234","Title":null}"#,
        )
        .unwrap();
        // A number-like text stays text, and an empty cell is null, as in JSON.
        assert_eq!(from_csv, from_json);
    }

    #[test]
    fn a_cell_that_is_not_its_type_is_an_error() {
        let fields = vec!["Id".to_string(), "IsDeleted".to_string()];
        assert!(from_row::<Contact>(&fields, row(&["003A", "maybe"])).is_err());
        assert!(from_row::<Contact>(&fields, row(&["", "true"])).is_err(), "a required cell empty");
    }
}
