//! Secrets at rest: the refresh token to a customer's Salesforce org is stored sealed with
//! XChaCha20-Poly1305 under a key the database never holds, with the workspace's id as associated
//! data, so a sealed value copied to another workspace's row does not open.
//!
//! A keyring holds one **active** key, which seals, and any number of older ones, which still
//! open what they sealed: rotating is adding a new key in front and, once `server rekey` has
//! sealed every value again with it, dropping the old one. A sealed value names its key:
//! `v1:{key id}:{base64 of the 24-byte nonce and the ciphertext}`.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use std::sync::Arc;

use super::WorkspaceId;

const VERSION: &str = "v1";

/// A secret as the database keeps it. Only a [`Keyring`] makes one and opens one.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub(super) String);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(..)")
    }
}

impl Sealed {
    /// The key it was sealed with, if it names one.
    pub fn key_id(&self) -> Option<&str> {
        let mut parts = self.0.splitn(3, ':');
        (parts.next() == Some(VERSION)).then(|| parts.next()).flatten()
    }
}

/// Why a keyring could not be read or a value opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a key is written id:base64 (32 random bytes, `server keygen ID` makes one); \u{201c}{0}\u{201d} is not")]
    Malformed(String),
    #[error("the keyring is empty: give at least one key")]
    Empty,
    #[error("two keys have the id \u{201c}{0}\u{201d}")]
    Duplicate(String),
    #[error("the value was sealed with key \u{201c}{0}\u{201d}, which the keyring does not have")]
    UnknownKey(String),
    #[error("the value does not open with its key (altered, or sealed for another workspace)")]
    Unopenable,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys secrets are sealed with; the first one is active. Cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<Vec<Key>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "Keyring({ids:?}, keys redacted)")
    }
}

impl Keyring {
    /// Reads `id:base64key` entries separated by commas, spaces or new lines (a key file's
    /// lines; `#` starts a comment), the active one first.
    pub fn parse(text: &str) -> Result<Keyring, KeyError> {
        let mut keys: Vec<Key> = Vec::new();
        let entries = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(|l| l.split([',', ' ', '\t']))
            .filter(|e| !e.is_empty());
        for entry in entries {
            // Named by its id only: a mistyped key is still mostly a key, and errors reach logs.
            let malformed = || {
                KeyError::Malformed(match entry.split_once(':') {
                    Some((id, _)) => format!("{id}:…"),
                    None => "an entry without an id".into(),
                })
            };
            let (id, b64) = entry.split_once(':').ok_or_else(malformed)?;
            let bytes = B64.decode(b64.trim_end_matches('=')).map_err(|_| malformed())?;
            if id.is_empty() || id.contains(':') || bytes.len() != 32 {
                return Err(malformed());
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyError::Duplicate(id.to_string()));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| malformed())?;
            keys.push(Key { id: id.to_string(), cipher });
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Keyring { keys: Arc::new(keys) })
    }

    /// A new random key as a key file's line: `id:base64`.
    pub fn generate_entry(id: &str) -> String {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        format!("{id}:{}", B64.encode(key))
    }

    /// A keyring of one random key, for a process that keeps nothing (tests).
    pub fn ephemeral() -> Keyring {
        Keyring::parse(&Keyring::generate_entry("ephemeral")).expect("a generated key reads")
    }

    /// The active key's id.
    pub fn active_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `secret` for `ws` with the active key.
    pub fn seal(&self, ws: &WorkspaceId, secret: &str) -> Sealed {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload { msg: secret.as_bytes(), aad: ws.as_str().as_bytes() };
        let ciphertext = key.cipher.encrypt(&nonce, payload).expect("sealing never fails");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Sealed(format!("{VERSION}:{}:{}", key.id, B64.encode(out)))
    }

    /// Opens a value sealed for `ws` with any key of the ring.
    pub fn open(&self, ws: &WorkspaceId, sealed: &Sealed) -> Result<String, KeyError> {
        let mut parts = sealed.0.splitn(3, ':');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Unopenable);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| KeyError::UnknownKey(id.to_string()))?;
        let bytes = B64.decode(body).map_err(|_| KeyError::Unopenable)?;
        if bytes.len() < 24 {
            return Err(KeyError::Unopenable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let payload = Payload { msg: ciphertext, aad: ws.as_str().as_bytes() };
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| KeyError::Unopenable)?;
        String::from_utf8(plain).map_err(|_| KeyError::Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(id: &str) -> WorkspaceId {
        WorkspaceId(id.into())
    }

    #[test]
    fn a_sealed_secret_opens_for_its_workspace_only() {
        let ring = Keyring::ephemeral();
        let sealed = ring.seal(&ws("acme"), "5Aep861refresh");
        assert!(!sealed.0.contains("5Aep861refresh"));
        assert_eq!(sealed.key_id(), Some("ephemeral"));
        assert_eq!(ring.open(&ws("acme"), &sealed).unwrap(), "5Aep861refresh");
        assert_eq!(ring.open(&ws("globex"), &sealed), Err(KeyError::Unopenable));
        // Two seals of the same secret differ (a fresh nonce each).
        assert_ne!(ring.seal(&ws("acme"), "x"), ring.seal(&ws("acme"), "x"));
        let mut altered = sealed.0.clone();
        altered.replace_range(altered.len() - 3.., "AAA");
        assert_eq!(ring.open(&ws("acme"), &Sealed(altered)), Err(KeyError::Unopenable));
    }

    #[test]
    fn a_rotated_ring_seals_with_the_new_key_and_still_opens_the_old() {
        let old_entry = Keyring::generate_entry("2026-11");
        let old = Keyring::parse(&old_entry).unwrap();
        let sealed_before = old.seal(&ws("acme"), "token");
        let rotated =
            Keyring::parse(&format!("{}\n{old_entry}", Keyring::generate_entry("2026-12")))
                .unwrap();
        assert_eq!(rotated.active_id(), "2026-12");
        assert_eq!(rotated.open(&ws("acme"), &sealed_before).unwrap(), "token");
        assert_eq!(rotated.seal(&ws("acme"), "token").key_id(), Some("2026-12"));
        // Once the old key is dropped, what it sealed says which key it needs.
        let new_only = Keyring::parse(&Keyring::generate_entry("2026-12")).unwrap();
        assert_eq!(
            new_only.open(&ws("acme"), &sealed_before),
            Err(KeyError::UnknownKey("2026-11".into()))
        );
    }

    #[test]
    fn key_files_read_with_comments_and_refuse_what_is_not_a_key() {
        let a = Keyring::generate_entry("a");
        let b = Keyring::generate_entry("b");
        let ring = Keyring::parse(&format!("# active first\n{a}  # new\n{b}\n")).unwrap();
        assert_eq!(ring.active_id(), "a");
        assert_eq!(Keyring::parse("# nothing\n").unwrap_err(), KeyError::Empty);
        assert_eq!(Keyring::parse("a:c2hvcnQ").unwrap_err(), KeyError::Malformed("a:…".into()));
        assert!(matches!(Keyring::parse("no-colon"), Err(KeyError::Malformed(_))));
        assert_eq!(
            Keyring::parse(&format!("{a},{a}")).unwrap_err(),
            KeyError::Duplicate("a".into())
        );
        assert!(!format!("{ring:?}").contains(a.split(':').nth(1).unwrap()));
    }
}
