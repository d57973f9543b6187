//! Where the keyring that seals stored secrets comes from: `--keys` / `SYNC_KEYS`, else
//! `--keys-file` / `SYNC_KEYS_FILE`, else a key file beside the database (`<database>.keys`),
//! created with one new key on first start and readable by its owner only. The database never
//! holds a key. How to rotate: docs/SECURITY.md.

use crate::config::Config;
use app::store::keyring::Keyring;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key file used when no keys are given.
pub fn default_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// The server's keyring, as its settings say.
pub fn load(config: &Config) -> Result<Keyring, String> {
    if let Some(keys) = config.keys.as_ref().filter(|k| !k.is_empty()) {
        return Keyring::parse(keys.expose()).map_err(|e| format!("--keys (SYNC_KEYS): {e}."));
    }
    let (file, given) = match &config.keys_file {
        Some(f) => (f.clone(), true),
        None => (default_file(&config.files_base()), false),
    };
    if !given && !file.exists() {
        create(&file)?;
        tracing::info!(file = %file.display(), "created a key file for the stored secrets");
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("The key file {} could not be read ({e}).", file.display()))?;
    Keyring::parse(&text).map_err(|e| format!("The key file {}: {e}.", file.display()))
}

/// A new key file with one key, named after today, readable by its owner only.
fn create(file: &Path) -> Result<(), String> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("The folder {} could not be made ({e}).", dir.display()))?;
    }
    let id = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let text = format!(
        "# Keys that seal the secrets in {db}, the active one first (docs/SECURITY.md).\n{}\n",
        Keyring::generate_entry(&id),
        db = file.with_extension("").display()
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(file)
        .map_err(|e| format!("The key file {} could not be created ({e}).", file.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("The key file {} could not be written ({e}).", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn without_keys_a_private_key_file_is_made_beside_the_database_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sync.db");
        let config =
            Config::try_parse_from(["server", "--database", db.to_str().unwrap()]).unwrap();
        let first = load(&config).unwrap();
        let file = default_file(&db);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = load(&config).unwrap();
        assert_eq!(first.active_id(), again.active_id());
        let ws = app::store::WorkspaceId("acme".into());
        assert_eq!(again.open(&ws, &first.seal(&ws, "token")).unwrap(), "token");
    }

    #[test]
    fn keys_given_win_and_bad_ones_are_named() {
        let entry = Keyring::generate_entry("k1");
        let config = Config::try_parse_from(["server", "--keys", &entry]).unwrap();
        assert_eq!(load(&config).unwrap().active_id(), "k1");
        assert!(!format!("{config:?}").contains(entry.split(':').nth(1).unwrap()));
        let bad = Config::try_parse_from(["server", "--keys", "k1:short"]).unwrap();
        assert!(load(&bad).unwrap_err().starts_with("--keys (SYNC_KEYS): a key is written"));
    }
}
