//! What the product takes for an email address, wherever one arrives (Conversion's API, a
//! Salesforce record).

/// A deliberately small email check: one `@`, a local part and a dotted domain, no spaces,
/// commas or other characters no mailbox has.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._%+-'".contains(c) || !c.is_ascii();
    !local.is_empty()
        && !domain.is_empty()
        && local.chars().all(ok_char)
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || !c.is_ascii())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}
