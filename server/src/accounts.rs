//! People's accounts: passwords hashed with argon2id, the first admin of a new server, and
//! `server adduser`.

use crate::config::Config;
use app::domain::access::{AuditAction, Role};
use app::store::audit::{self, Actor};
use app::store::{self, accounts, WorkspaceId};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// An argon2id hash (PHC string) of the password, with a fresh salt. Slow on purpose: run it off
/// the async threads ([`hash_password`] does).
fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with its default parameters")
        .to_string()
}

pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("hashing does not panic")
}

/// Whether `password` is the one `hash` was made from. A hash that does not parse matches nothing.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of no one's password, checked when a sign-in names an unknown email, so that answering
/// it takes as long as a wrong password for a known one.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_blocking("no account has this password"))
}

/// A new random password: 20 characters from an alphabet without look-alikes (about 115 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// Checks a new password; the message says what is wrong.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("A password needs at least {MIN_PASSWORD_CHARS} characters."));
    }
    Ok(())
}

/// Checks an email address as an account's sign-in name.
pub fn check_email(email: &str) -> Result<(), String> {
    if app::domain::email::valid_email(email.trim()) {
        Ok(())
    } else {
        Err(format!("{email:?} is not an email address."))
    }
}

/// Where the first admin's generated password is kept until it is changed.
pub fn first_admin_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".first-admin");
    PathBuf::from(name)
}

/// What [`ensure_first_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// The server already had accounts.
    Existing,
    /// Made with the password given in `--admin-password` / `SYNC_ADMIN_PASSWORD`.
    Made { email: String },
    /// Made with a generated password, written to the file (readable by its owner only).
    Generated { email: String, password: String, file: PathBuf },
}

/// A server without accounts gets one: an admin of its workspace, with `--admin-email` and the
/// password from `--admin-password`, or a generated one kept in `<database>.first-admin`.
pub async fn ensure_first_admin(
    pool: &app::store::Db,
    config: &Config,
    now_ms: i64,
) -> Result<FirstAdmin, String> {
    let unreadable = |e: store::StoreError| format!("The accounts could not be read ({e}).");
    if accounts::count_users(pool).await.map_err(unreadable)? > 0 {
        return Ok(FirstAdmin::Existing);
    }
    let email = config.admin_email.trim().to_string();
    check_email(&email).map_err(|e| format!("--admin-email (SYNC_ADMIN_EMAIL): {e}"))?;
    let given = config.admin_password.as_ref().map(|p| p.expose().to_string());
    let password = match &given {
        Some(p) => {
            check_new_password(p)
                .map_err(|e| format!("--admin-password (SYNC_ADMIN_PASSWORD): {e}"))?;
            p.clone()
        }
        None => generate_password(),
    };
    let hash = hash_password(password.clone()).await;
    let ws = WorkspaceId(config.workspace.clone());
    let (user_id, _) = accounts::upsert_user(pool, &email, "Admin", &hash, now_ms)
        .await
        .map_err(|e| format!("The first admin could not be saved ({e})."))?;
    accounts::set_membership(pool, &ws, user_id, Role::Admin, now_ms)
        .await
        .map_err(|e| format!("The first admin could not be saved ({e})."))?;
    let detail = format!("{email} (Admin), the first admin");
    audit::record(
        pool,
        &ws,
        now_ms,
        Actor::Server("server start"),
        AuditAction::MemberAdded,
        &detail,
    )
    .await
    .map_err(|e| format!("The first admin could not be saved ({e})."))?;
    if given.is_some() {
        return Ok(FirstAdmin::Made { email });
    }
    let file = first_admin_file(&config.files_base());
    write_private(&file, &format!("{email}\n{password}\n"))?;
    Ok(FirstAdmin::Generated { email, password, file })
}

/// The demo's second workspace, beside the first (`--workspace`).
pub const DEMO_WORKSPACE: (&str, &str) = ("globex", "Globex Corporation");
/// The demo's member: a member (not an admin) of the first workspace.
pub const DEMO_MEMBER_EMAIL: &str = "member@example.com";

/// The demo's people and second workspace, made once: Globex beside the first workspace, the
/// first admin an admin of both (the product bar's switcher shows them), and a member of the
/// first workspace who signs in with the same password as the first admin. Returns the member's
/// email when they exist.
pub async fn ensure_demo(
    pool: &app::store::Db,
    config: &Config,
    now_ms: i64,
) -> Result<Option<&'static str>, String> {
    let failed = |e: store::StoreError| format!("The demo's workspaces could not be saved ({e}).");
    let first = WorkspaceId(config.workspace.clone());
    let second = WorkspaceId(DEMO_WORKSPACE.0.to_string());
    if first != second && !store::workspace_ids(pool).await.map_err(failed)?.contains(&second) {
        store::ensure_workspace(pool, &second, DEMO_WORKSPACE.1, now_ms).await.map_err(failed)?;
        if let Some(admin) =
            accounts::credentials(pool, &config.admin_email).await.map_err(failed)?
        {
            accounts::set_membership(pool, &second, admin.user_id, Role::Admin, now_ms)
                .await
                .map_err(failed)?;
            let detail = format!("{} (Admin), the demo's admin", config.admin_email.trim());
            audit::record(
                pool,
                &second,
                now_ms,
                Actor::Server("demo start"),
                AuditAction::MemberAdded,
                &detail,
            )
            .await
            .map_err(failed)?;
        }
    }
    if accounts::credentials(pool, DEMO_MEMBER_EMAIL).await.map_err(failed)?.is_some() {
        return Ok(Some(DEMO_MEMBER_EMAIL));
    }
    let password = match &config.admin_password {
        Some(p) => p.expose().to_string(),
        None => match read_first_admin(&config.files_base()) {
            Some((_, p)) => p,
            // The first admin's password was changed: no shared one to give the member.
            None => return Ok(None),
        },
    };
    let hash = hash_password(password).await;
    let (user_id, _) = accounts::upsert_user(pool, DEMO_MEMBER_EMAIL, "Morgan Lee", &hash, now_ms)
        .await
        .map_err(failed)?;
    accounts::set_membership(pool, &first, user_id, Role::Member, now_ms).await.map_err(failed)?;
    let detail = format!("{DEMO_MEMBER_EMAIL} (Member), the demo's member");
    audit::record(
        pool,
        &first,
        now_ms,
        Actor::Server("demo start"),
        AuditAction::MemberAdded,
        &detail,
    )
    .await
    .map_err(failed)?;
    Ok(Some(DEMO_MEMBER_EMAIL))
}

/// Writes a file only its owner can read, replacing one that was there.
fn write_private(file: &Path, text: &str) -> Result<(), String> {
    let _ = std::fs::remove_file(file);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{} could not be written ({e}).", file.display()))
}

/// The first admin's email and generated password, while the file that keeps them is there.
pub fn read_first_admin(database: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(first_admin_file(database)).ok()?;
    let mut lines = text.lines();
    Some((lines.next()?.to_string(), lines.next()?.to_string()))
}

/// `server adduser`: creates the person (or sets a new password and name for an existing one)
/// and gives them `role` in the workspace. Returns what was done, as a sentence.
pub async fn add_user(
    pool: &app::store::Db,
    config: &Config,
    email: &str,
    name: Option<&str>,
    role: Role,
    password: &str,
    now_ms: i64,
) -> Result<String, String> {
    check_email(email)?;
    check_new_password(password)?;
    let ws = WorkspaceId(config.workspace.clone());
    let known = store::workspace_ids(pool)
        .await
        .map_err(|e| format!("The workspaces could not be read ({e})."))?;
    if !known.contains(&ws) {
        if ws.as_str() != crate::config::DEFAULT_WORKSPACE && !known.is_empty() {
            return Err(format!(
                "There is no workspace {ws}; the workspaces are {}. Name one with --workspace.",
                known.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        store::ensure_workspace(pool, &ws, &config.workspace_name, now_ms)
            .await
            .map_err(|e| format!("The workspace could not be saved ({e})."))?;
    }
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.trim().split('@').next().unwrap_or(email));
    let hash = hash_password(password.to_string()).await;
    let (user_id, created) = accounts::upsert_user(pool, email, name, &hash, now_ms)
        .await
        .map_err(|e| format!("The account could not be saved ({e})."))?;
    accounts::set_membership(pool, &ws, user_id, role, now_ms)
        .await
        .map_err(|e| format!("The membership could not be saved ({e})."))?;
    let action = if created { AuditAction::MemberAdded } else { AuditAction::MemberUpdated };
    let detail = format!("{} ({})", email.trim(), role.label());
    audit::record(pool, &ws, now_ms, Actor::Server("server adduser"), action, &detail)
        .await
        .map_err(|e| format!("The audit trail could not be written ({e})."))?;
    // A generated first password that has just been replaced is no longer kept.
    if read_first_admin(&config.files_base())
        .is_some_and(|(e, _)| e.eq_ignore_ascii_case(email.trim()))
    {
        let _ = std::fs::remove_file(first_admin_file(&config.files_base()));
    }
    let what = if created { "Created" } else { "Updated" };
    Ok(format!(
        "{what} {} ({}), {} of workspace {}.",
        email.trim(),
        name,
        role.label(),
        ws.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery".into()).await;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("correct horse battery!".into(), hash.clone()).await);
        assert!(!verify_password("anything".into(), "not a hash".into()).await);
        assert_ne!(hash, hash_password("correct horse battery".into()).await, "salted");
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(check_new_password(&a).is_ok());
        assert!(check_new_password("short").is_err());
    }
}
