//! Retention: deleting connections older than a cutoff, whole UTC days at a time so that the per-day rollup stays
//! exactly the sum of what remains. One address at a time, each in its own short transaction, so that a server
//! answering from the same file is never blocked for long.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::queries::DAY_MS;
use super::StoreError;

/// What a prune did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Connections deleted.
    pub events: u64,
    /// The first moment kept: the start of the UTC day of the cutoff.
    pub kept_from: DateTime<Utc>,
}

/// Addresses pruned per transaction.
const ADDRESSES_PER_TRANSACTION: usize = 200;

/// Deletes the connections before the UTC day of `cutoff`, and their rollup rows.
pub fn prune(conn: &mut Connection, cutoff: DateTime<Utc>) -> Result<Pruned, StoreError> {
    let first_day = cutoff.timestamp_millis().div_euclid(DAY_MS);
    let first_ms = first_day * DAY_MS;
    let mut deleted = 0u64;
    let mut after: Option<String> = None;
    loop {
        let tx = conn.transaction()?;
        let mut done = false;
        for _ in 0..ADDRESSES_PER_TRANSACTION {
            // The next address with anything to delete, by a seek on the (remote_ip, day) key.
            let next: Option<String> = tx
                .prepare_cached(
                    "SELECT remote_ip FROM ip_day_device WHERE remote_ip > ?1 AND day < ?2 ORDER BY remote_ip LIMIT 1",
                )?
                .query_row(params![after.as_deref().unwrap_or(""), first_day], |r| r.get(0))
                .optional()?;
            let Some(ip) = next else {
                done = true;
                break;
            };
            deleted += tx
                .prepare_cached("DELETE FROM events WHERE remote_ip = ?1 AND ts < ?2")?
                .execute(params![ip, first_ms])? as u64;
            tx.prepare_cached("DELETE FROM ip_day_device WHERE remote_ip = ?1 AND day < ?2")?
                .execute(params![ip, first_day])?;
            after = Some(ip);
        }
        tx.commit()?;
        if done {
            break;
        }
    }
    Ok(Pruned { events: deleted, kept_from: super::queries::millis(first_ms) })
}
