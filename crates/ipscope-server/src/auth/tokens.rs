//! ipscope's own bearer tokens, for scripts, SOAR tools and local use: `ipscope_{id}_{secret}` in hex, with 256
//! random bits of secret from the OS; the database keeps the id and the secret's SHA-256 only.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, Permission};
use crate::store::queries::millis;
use crate::store::{Scope, StoreError};

/// How every ipscope token starts.
pub const PREFIX: &str = "ipscope_";

/// What `token create` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// A name for the audit and `token list`, unique among tokens in force.
    pub name: String,
    /// Defender permission names.
    pub permissions: Vec<String>,
    /// Device groups the token is limited to; `None`: every device.
    pub device_groups: Option<Vec<String>>,
    /// When it stops working; `None`: never.
    pub expires: Option<DateTime<Utc>>,
}

/// A stored token, as `token list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// Defender permission names.
    pub permissions: Vec<String>,
    /// Device groups it is limited to; `None`: every device.
    pub device_groups: Option<Vec<String>>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it expires.
    pub expires: Option<DateTime<Utc>>,
    /// When it was last used (recorded at most about once a minute).
    pub last_used: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked: Option<DateTime<Utc>>,
}

/// Why a token could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The request makes no sense; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TokenError {
    fn from(e: rusqlite::Error) -> Self {
        TokenError::Store(e.into())
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator works");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a token and returns its text: shown once, never stored.
pub fn create(conn: &mut Connection, new: &NewToken, now: DateTime<Utc>) -> Result<String, TokenError> {
    let name = new.name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(TokenError::Invalid("a token name is 1 to 100 printable characters".into()));
    }
    if new.permissions.is_empty() {
        return Err(TokenError::Invalid("give at least one --permission, e.g. Ip.Read.All".into()));
    }
    if let Some(unknown) = new.permissions.iter().find(|p| !Permission::is_known(p)) {
        let known: Vec<&str> = Permission::ALL.iter().flat_map(|p| p.granted_by().iter().copied()).collect();
        return Err(TokenError::Invalid(format!("unknown permission '{unknown}'; known: {}", known.join(", "))));
    }
    if let Some(groups) = &new.device_groups {
        if groups.iter().any(|g| g.trim().is_empty()) {
            return Err(TokenError::Invalid("a device group name cannot be empty".into()));
        }
    }
    if new.expires.is_some_and(|e| e <= now) {
        return Err(TokenError::Invalid("the expiry must be in the future".into()));
    }
    let id = hex(&random_bytes::<8>());
    let secret = hex(&random_bytes::<32>());
    let tx = conn.transaction()?;
    let taken: Option<i64> =
        tx.query_row("SELECT 1 FROM tokens WHERE name = ?1 AND revoked IS NULL", [name], |r| r.get(0)).optional()?;
    if taken.is_some() {
        return Err(TokenError::Invalid(format!(
            "a token named '{name}' exists; revoke it first or pick another name"
        )));
    }
    tx.execute(
        "INSERT INTO tokens (id, name, secret_sha256, permissions, device_groups, created, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            name,
            Sha256::digest(secret.as_bytes()).to_vec(),
            serde_json::to_string(&new.permissions).expect("strings serialize"),
            new.device_groups.as_ref().map(|g| serde_json::to_string(g).expect("strings serialize")),
            now.timestamp_millis(),
            new.expires.map(|e| e.timestamp_millis()),
        ],
    )?;
    tx.commit()?;
    Ok(format!("{PREFIX}{id}_{secret}"))
}

/// Every token, in force or revoked, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, permissions, device_groups, created, expires, last_used, revoked FROM tokens ORDER BY created, name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<i64>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, permissions, groups, created, expires, last_used, revoked) = row?;
        out.push(TokenInfo {
            name,
            permissions: serde_json::from_str(&permissions).unwrap_or_default(),
            device_groups: groups.map(|g| serde_json::from_str(&g).unwrap_or_default()),
            created: millis(created),
            expires: expires.map(millis),
            last_used: last_used.map(millis),
            revoked: revoked.map(millis),
        });
    }
    Ok(out)
}

/// Revokes the token in force named `name`; `false` when there is none.
pub fn revoke(conn: &Connection, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
        params![name, now.timestamp_millis()],
    )?;
    Ok(n > 0)
}

/// Records that the token `id` was used at `at` (a no-op when a later use is recorded).
pub fn record_use(conn: &Connection, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE tokens SET last_used = ?2 WHERE id = ?1 AND (last_used IS NULL OR last_used < ?2)")?
        .execute(params![id, at.timestamp_millis()])?;
    Ok(())
}

/// The caller `token` stands for, or why it is refused (unknown, revoked, expired). The secret's hash is compared
/// in constant time.
pub fn verify(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<Result<Caller, String>, StoreError> {
    let refused = || Ok(Err("The token is not valid: unknown, revoked or malformed.".to_string()));
    let Some((id, secret)) = token.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')) else {
        return refused();
    };
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return refused();
    }
    type Row = (String, Vec<u8>, String, Option<String>, Option<i64>, Option<i64>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT name, secret_sha256, permissions, device_groups, expires, revoked FROM tokens WHERE id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((name, stored, permissions, groups, expires, revoked)) = row else {
        return refused();
    };
    let matches: bool = Sha256::digest(secret.as_bytes()).as_slice().ct_eq(&stored).into();
    if !matches || revoked.is_some() {
        return refused();
    }
    if let Some(expires) = expires.filter(|e| *e <= now.timestamp_millis()) {
        return Ok(Err(format!("The token expired at {}.", millis(expires).to_rfc3339())));
    }
    let groups: Option<Vec<String>> = groups.map(|g| serde_json::from_str(&g).unwrap_or_default());
    Ok(Ok(Caller {
        name,
        permissions: serde_json::from_str(&permissions).unwrap_or_default(),
        scope: groups.map_or(Scope::All, Scope::groups),
        token_id: Some(id.to_string()),
    }))
}

/// Parses an expiry such as `90d`, `12h` or `30m` into a duration.
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| format!("'{text}' is not a duration such as 90d, 12h or 30m"))?;
    let duration = match unit {
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        _ => None,
    };
    duration
        .filter(|d| *d > chrono::Duration::zero() && *d <= chrono::Duration::days(3660))
        .ok_or_else(|| format!("'{text}' is not a duration such as 90d, 12h or 30m (from 1 minute to 10 years)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_or_say_what_is_expected() {
        let check = |text: &str, expected: Option<i64>| {
            assert_eq!(parse_lifetime(text).ok().map(|d| d.num_minutes()), expected, "{text}");
        };
        check("90d", Some(90 * 24 * 60));
        check("12h", Some(12 * 60));
        check("30m", Some(30));
        check("0d", None);
        check("d", None);
        check("5y", None);
        check("99999d", None);
        check("-1d", None);
    }
}
