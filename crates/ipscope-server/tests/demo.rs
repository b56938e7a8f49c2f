//! The demo generator: deterministic, and consistent with what the API reports about it.

use std::path::PathBuf;

use chrono::{Duration, TimeZone, Utc};
use ipscope_api::period::Period;
use ipscope_server::demo;
use ipscope_server::store::{investigation, Scope, Store};

fn scratch_db(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    std::env::temp_dir().join(format!("ipscope-demo-{label}-{}-{nanos}.db", std::process::id()))
}

fn remove(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// A digest of every table's rows, in key order.
fn digest(store: &Store) -> Vec<(String, i64, String)> {
    store
        .call_blocking(|c| {
            let mut out = Vec::new();
            for (table, order) in [
                ("machines", "id"),
                ("alerts", "id"),
                ("alert_ips", "ip, alert_id"),
                ("devices", "key"),
                ("files", "key"),
                ("events", "remote_ip, ts, device, local_port, remote_port, action_type"),
                ("ip_day_device", "remote_ip, day, device"),
            ] {
                let rows: Vec<String> = c
                    .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?
                    .query_map([], |r| {
                        let n = r.as_ref().column_count();
                        let mut s = String::new();
                        for i in 0..n {
                            let v: rusqlite::types::Value = r.get(i)?;
                            s.push_str(&format!("{v:?}|"));
                        }
                        Ok(s)
                    })?
                    .collect::<Result<_, _>>()?;
                let hash = rows.iter().fold(0u64, |h, row| {
                    row.bytes().fold(h, |h, b| h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b)))
                });
                out.push((table.to_string(), rows.len() as i64, format!("{hash:016x}")));
            }
            Ok(out)
        })
        .unwrap()
}

#[test]
fn the_same_moment_gives_the_same_organization() {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let (a, b) = (scratch_db("a"), scratch_db("b"));
    let (store_a, store_b) = (Store::open(&a).unwrap(), Store::open(&b).unwrap());
    let summary = demo::generate(&store_a.data(), now).unwrap();
    assert_eq!(demo::generate(&store_b.data(), now).unwrap(), summary);
    assert!(summary.machines >= 300 && summary.events >= 300_000 && summary.alerts >= 20, "{summary:?}");
    assert_eq!(digest(&store_a), digest(&store_b));

    // Running it again on the same file adds nothing.
    let again = demo::generate(&store_a.data(), now).unwrap();
    assert_eq!(again.events, 0);

    // The rollup agrees with counting the raw events, for periods that start and end mid-day.
    for ip in [demo::BEACON_IP, demo::DOWNLOAD_IP, demo::COMMON_IP, "2606:4700:4700::1111"] {
        for (days, offset_h) in [(1, 5), (7, 13), (30, 0), (90, 7)] {
            let to = now - Duration::hours(offset_h);
            let period = Period { from: to - Duration::days(days), to };
            for scope in [Scope::All, Scope::groups(["Finance", "IT"])] {
                let api = store_a
                    .call_blocking(|c| investigation::prevalence(c, ip.parse().unwrap(), period, &scope))
                    .unwrap();
                let groups = match &scope {
                    Scope::All => None,
                    Scope::Groups(g) => Some(serde_json::to_string(&g[..]).unwrap()),
                };
                let raw: (i64, i64, Option<i64>, Option<i64>) = store_a
                    .call_blocking(|c| {
                        Ok(c.query_row(
                            "SELECT COUNT(DISTINCT e.device), COUNT(*), MIN(e.ts), MAX(e.ts)
                             FROM events e JOIN devices d ON d.key = e.device
                             WHERE e.remote_ip = ?1 AND e.ts >= ?2 AND e.ts < ?3
                               AND (?4 IS NULL OR d.rbac_group IN (SELECT value FROM json_each(?4)))",
                            rusqlite::params![ip, period.from.timestamp_millis(), period.to.timestamp_millis(), groups],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )?)
                    })
                    .unwrap();
                let seen = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_millis());
                assert_eq!(
                    (
                        api.organization_prevalence as i64,
                        api.connections as i64,
                        seen(api.org_first_seen),
                        seen(api.org_last_seen)
                    ),
                    raw,
                    "{ip} {days}d {scope:?}"
                );
                let series: u64 = api.days.iter().map(|d| d.connections).sum();
                assert_eq!(series as i64, raw.1, "{ip} {days}d series {scope:?}");
            }
        }
    }
    let beacon = store_a
        .call_blocking(|c| {
            investigation::prevalence(c, demo::BEACON_IP.parse().unwrap(), Period::last_hours(720, now), &Scope::All)
        })
        .unwrap();
    assert_eq!(beacon.organization_prevalence, 5, "five devices beacon");
    remove(&a);
    remove(&b);
}

#[test]
fn pruning_keeps_whole_days_and_the_rollup_equal_to_the_events() {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 15, 30, 0).unwrap();
    let db = scratch_db("prune");
    let store = Store::open(&db).unwrap();
    demo::generate(&store.data(), now).unwrap();
    let cutoff = now - Duration::days(30);
    let pruned = store.call_blocking(|c| ipscope_server::store::retention::prune(c, cutoff)).unwrap();
    assert!(pruned.events > 100_000, "{pruned:?}");
    assert_eq!(
        pruned.kept_from,
        Utc.with_ymd_and_hms(2026, 10, 26, 0, 0, 0).unwrap(),
        "the cutoff's whole UTC day is kept"
    );
    let (oldest, rollup_oldest): (i64, i64) = store
        .call_blocking(|c| {
            Ok(c.query_row("SELECT (SELECT MIN(ts) FROM events), (SELECT MIN(day) FROM ip_day_device)", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
        })
        .unwrap();
    assert!(oldest >= pruned.kept_from.timestamp_millis());
    assert_eq!(rollup_oldest, pruned.kept_from.timestamp_millis() / 86_400_000);
    // Periods across the cutoff: the rollup and a count of the remaining events agree.
    for ip in [demo::BEACON_IP, demo::COMMON_IP] {
        let period = Period { from: now - Duration::days(60), to: now };
        let api =
            store.call_blocking(|c| investigation::prevalence(c, ip.parse().unwrap(), period, &Scope::All)).unwrap();
        let raw: (i64, i64) = store
            .call_blocking(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(DISTINCT device), COUNT(*) FROM events WHERE remote_ip = ?1 AND ts >= ?2 AND ts < ?3",
                    rusqlite::params![ip, period.from.timestamp_millis(), period.to.timestamp_millis()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!((api.organization_prevalence as i64, api.connections as i64), raw, "{ip}");
        assert!(api.org_first_seen.unwrap() >= pruned.kept_from, "{ip}");
    }
    let again = store.call_blocking(|c| ipscope_server::store::retention::prune(c, cutoff)).unwrap();
    assert_eq!(again.events, 0, "nothing left to prune");
    remove(&db);
}
