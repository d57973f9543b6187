//! A row of Bulk API 2.0 results read as a record, through the same `Deserialize` as a record of
//! a REST query page: each cell is offered to the record's visitor by its column's name, an empty
//! cell as null, `true`/`false` as booleans and numbers parsed where the record reads a number.
//! So a field the engine reads is read the same way whichever API brought it.

use serde::de::value::{Error, MapDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Decodes one row (`cells`, in the order of `fields`) into a `T`.
pub fn from_row<T: DeserializeOwned>(
    fields: &[String],
    cells: Vec<Option<String>>,
) -> Result<T, Error> {
    let entries = fields.iter().map(String::as_str).zip(cells.into_iter().map(Cell));
    // Every cell is taken: the deserializer checks none is left over.
    T::deserialize(MapDeserializer::new(entries))
}

/// One cell: `None` for an empty one (null).
struct Cell(Option<String>);

impl<'de> IntoDeserializer<'de, Error> for Cell {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl Cell {
    fn text(&self) -> Result<&str, Error> {
        self.0.as_deref().ok_or_else(|| de::Error::custom("an empty cell where a value is needed"))
    }
}

impl<'de> de::Deserializer<'de> for Cell {
    type Error = Error;

    /// Text, or null: what a cell is unless the record asks for a type.
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            None => v.visit_none(),
            Some(s) => v.visit_string(s),
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
    use crate::sync::mapping::SfRecord;

    fn row(cells: &[&str]) -> Vec<Option<String>> {
        cells.iter().map(|c| (!c.is_empty()).then(|| c.to_string())).collect()
    }

    #[test]
    fn a_row_reads_as_the_same_record_as_its_json() {
        let fields: Vec<String> =
            ["Id", "IsDeleted", "SystemModstamp", "Email", "Amount", "Phone", "Title"]
                .map(String::from)
                .to_vec();
        let r: SfRecord = from_row(
            &fields,
            row(&["003A", "false", "2024-01-02T03:04:05.000Z", "a@b.co", "12.5", "5551234", ""]),
        )
        .unwrap();
        let json: SfRecord = serde_json::from_str(
            r#"{"Id":"003A","IsDeleted":false,"SystemModstamp":"2024-01-02T03:04:05.000Z","Email":"a@b.co","Amount":12.5,"Phone":"5551234","Title":null}"#,
        )
        .unwrap();
        assert_eq!(r.id.as_deref(), Some("003A"));
        assert_eq!(r.is_deleted, Some(false));
        assert_eq!(r.amount, Some(12.5));
        assert_eq!(r.modstamp(), json.modstamp());
        // A number-like text stays text, and an empty cell is null, as in JSON.
        assert_eq!(r.text("Phone"), &Some("5551234".to_string()));
        assert_eq!(r.text("Title"), &None);
        assert_eq!(r.texts, json.texts);
    }

    #[test]
    fn a_cell_that_is_not_its_type_is_an_error() {
        let fields = vec!["IsDeleted".to_string()];
        assert!(from_row::<SfRecord>(&fields, row(&["maybe"])).is_err());
    }
}
