//! Salesforce record IDs: 15-character case-sensitive IDs and their 18-character case-insensitive
//! form, whose last three characters are a checksum of the letter case of the first fifteen.
//!
//! Doc: <https://help.salesforce.com/s/articleView?id=000385008> (what the 18-character suffix is)
//! and the `CASESAFEID()` formula function.

use std::fmt;

/// The alphabet the checksum characters are drawn from: a 5-bit value indexes into it.
const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// An 18-character Salesforce ID whose checksum has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SalesforceId(String);

/// Why a string is not a Salesforce ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a Salesforce ID has 15 or 18 characters, this one has {0}")]
    Length(usize),
    #[error("a Salesforce ID contains only letters and digits")]
    Character,
    #[error("the last three characters of the ID do not match its checksum")]
    Checksum,
}

/// The three checksum characters of a 15-character ID: for each block of five characters, a bit
/// per upper-case letter (first character = lowest bit).
pub fn checksum(id15: &[u8; 15]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (block, slot) in out.iter_mut().enumerate() {
        let mut bits = 0usize;
        for i in 0..5 {
            if id15[block * 5 + i].is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        *slot = CHECKSUM_ALPHABET[bits];
    }
    out
}

impl SalesforceId {
    /// Parses a 15- or 18-character ID. An 18-character ID must carry the right checksum; the
    /// checksum itself is compared case-insensitively, as Salesforce does.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = s.as_bytes();
        if bytes.len() != 15 && bytes.len() != 18 {
            return Err(IdError::Length(s.chars().count()));
        }
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::Character);
        }
        let mut head = [0u8; 15];
        head.copy_from_slice(&bytes[..15]);
        let sum = checksum(&head);
        if bytes.len() == 18 && !bytes[15..].eq_ignore_ascii_case(&sum) {
            return Err(IdError::Checksum);
        }
        let mut full = String::with_capacity(18);
        full.push_str(&s[..15]);
        full.extend(sum.iter().map(|&b| b as char));
        Ok(Self(full))
    }

    /// An ID as a person may paste it: 15 characters exactly as Salesforce shows them, or 18 in
    /// any letter case (a spreadsheet or an email may have changed it). The 18-character form's
    /// checksum says which of the first fifteen letters are upper case, so the case is restored
    /// from it; an ID whose letters cannot match its checksum is refused.
    pub fn parse_any_case(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 18 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Self::parse(s);
        }
        let sum = s.as_bytes()[15..].to_ascii_uppercase();
        let mut head = [0u8; 15];
        for (block, c) in sum.iter().enumerate() {
            let bits = CHECKSUM_ALPHABET.iter().position(|a| a == c).ok_or(IdError::Checksum)?;
            for i in 0..5 {
                let b = s.as_bytes()[block * 5 + i];
                let upper = bits & (1 << i) != 0;
                if upper && !b.is_ascii_alphabetic() {
                    return Err(IdError::Checksum);
                }
                head[block * 5 + i] =
                    if upper { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() };
            }
        }
        Self::from_15(&head)
    }

    /// Builds the 18-character ID from a 15-character one made of letters and digits.
    pub fn from_15(id15: &[u8; 15]) -> Result<Self, IdError> {
        let s = std::str::from_utf8(id15).map_err(|_| IdError::Character)?;
        Self::parse(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 15-character, case-sensitive form.
    pub fn short(&self) -> &str {
        &self.0[..15]
    }

    /// The three-character key prefix that names the object type (`00Q` is a Lead).
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SalesforceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SalesforceId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_get_their_documented_suffix() {
        // IDs from the REST API guide's query example response.
        assert_eq!(SalesforceId::parse("001D000000IRFma").unwrap().as_str(), "001D000000IRFmaIAH");
        assert_eq!(SalesforceId::parse("001D000000Iomaz").unwrap().as_str(), "001D000000IomazIAB");
        assert_eq!(SalesforceId::parse("001D000000IomazIAB").unwrap().short(), "001D000000Iomaz");
        // The `Q` of a Lead prefix is upper case: bit 2 of the first block.
        assert_eq!(SalesforceId::parse("00Q000000000000").unwrap().as_str(), "00Q000000000000EAA");
    }

    #[test]
    fn eighteen_character_ids_are_checked() {
        assert!(SalesforceId::parse("001D000000IRFmaIAH").is_ok());
        assert!(SalesforceId::parse("001D000000IRFmaiah").is_ok(), "suffix is case-insensitive");
        assert_eq!(SalesforceId::parse("001D000000IRFmaIAA"), Err(IdError::Checksum));
        assert_eq!(SalesforceId::parse("001d000000IRFmaIAH"), Err(IdError::Checksum));
    }

    #[test]
    fn an_eighteen_character_id_in_any_case_is_restored_from_its_checksum() {
        for pasted in ["001D000000IRFmaIAH", "001d000000irfmaiah", "001D000000IRFMAIAH"] {
            assert_eq!(
                SalesforceId::parse_any_case(pasted).unwrap().as_str(),
                "001D000000IRFmaIAH"
            );
        }
        // Fifteen characters carry no checksum: their case is the ID.
        assert_eq!(
            SalesforceId::parse_any_case("001D000000IRFma").unwrap().as_str(),
            "001D000000IRFmaIAH"
        );
        assert_ne!(
            SalesforceId::parse_any_case("001d000000irfma").unwrap().as_str(),
            "001D000000IRFmaIAH"
        );
        // A checksum asking for an upper-case digit cannot be right.
        assert_eq!(SalesforceId::parse_any_case("001D000000IRFma555"), Err(IdError::Checksum));
        assert!(SalesforceId::parse_any_case("jane@acme.com").is_err());
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert_eq!(SalesforceId::parse("001D"), Err(IdError::Length(4)));
        assert_eq!(SalesforceId::parse("001D000000IRF-a"), Err(IdError::Character));
        assert_eq!(SalesforceId::parse(""), Err(IdError::Length(0)));
    }

    #[test]
    fn deserializes_only_valid_ids() {
        let id: SalesforceId = serde_json::from_str("\"001D000000IRFmaIAH\"").unwrap();
        assert_eq!(id.key_prefix(), "001");
        assert!(serde_json::from_str::<SalesforceId>("\"001D000000IRFmaIAA\"").is_err());
    }
}
