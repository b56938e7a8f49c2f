//! `ipscope-server synth`: a large synthetic database for benchmarks, with a fixed shape per IP so that
//! per-IP cost can be compared across table sizes: 20 busy IPs (50,000 connections from 500 devices each)
//! and as many typical IPs (50 connections from 5 devices) as it takes to reach the requested size. The devices
//! are spread over ten device groups (`group-0`...`group-9`), for measuring a caller limited to some of them.

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Duration, Utc};

use crate::store::writes::{NewEvent, Sink};
use crate::store::{DataStore, StoreError};

/// Busy IPs, and the connections and devices of each.
pub const BUSY_IPS: u32 = 20;
const BUSY_EVENTS: u64 = 50_000;
const BUSY_DEVICES: u64 = 500;
/// Connections and devices of each typical IP.
const TYPICAL_EVENTS: u64 = 50;
const TYPICAL_DEVICES: u64 = 5;
/// Devices in the organization.
const DEVICES: u64 = 5_000;
/// Days of history.
const DAYS: i64 = 180;

/// The `n`-th busy address: `100.0.0.n` is CGNAT space, `16.0.0.n` is public and unused by the demo.
pub fn busy_ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(16, 0, 0, n as u8 + 1))
}

/// The `n`-th typical address.
pub fn typical_ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(17, 0, 0, 0)) + n))
}

/// How many typical IPs a database of `events` connections has.
pub fn typical_ips(events: u64) -> u32 {
    (events.saturating_sub(u64::from(BUSY_IPS) * BUSY_EVENTS) / TYPICAL_EVENTS) as u32
}

/// Fills `data` with about `events` connections ending at `now`, reporting progress in events.
pub fn generate(
    data: &DataStore,
    events: u64,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StoreError> {
    let start = now - Duration::days(DAYS);
    let span_ms = DAYS * 86_400_000;
    let mut written = 0u64;
    let mut seed = 0x5eed_u64;
    let mut rand = move || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let plan: Vec<(IpAddr, u64, u64)> = (0..BUSY_IPS)
        .map(|n| (busy_ip(n), BUSY_EVENTS, BUSY_DEVICES))
        .chain((0..typical_ips(events)).map(|n| (typical_ip(n), TYPICAL_EVENTS, TYPICAL_DEVICES)))
        .collect();
    // Large batches in one transaction each (on SQLite); each IP's rows in time order, so the clustered key grows
    // in order.
    for chunk in plan.chunks(20_000) {
        data.write(|writer: &mut dyn Sink| {
            for &(ip, n, devices) in chunk {
                let first_device = rand() % DEVICES;
                let mut times: Vec<i64> = (0..n).map(|_| (rand() % span_ms as u64) as i64).collect();
                times.sort_unstable();
                for (i, offset) in times.into_iter().enumerate() {
                    let device = (first_device + i as u64 % devices) % DEVICES;
                    let event = NewEvent {
                        timestamp: start + Duration::milliseconds(offset),
                        device_id: device_id(device),
                        device_name: format!("host-{device:05}.bench.example"),
                        action_type: "ConnectionSuccess".into(),
                        remote_ip: ip,
                        remote_port: 443,
                        remote_url: None,
                        local_ip: Some(format!("10.{}.{}.{}", device / 65_536, (device / 256) % 256, device % 256)),
                        local_port: Some(49_152 + (i % 16_000) as u16),
                        protocol: Some("Tcp".into()),
                        file_name: Some(["chrome.exe", "svchost.exe", "teams.exe"][device as usize % 3].into()),
                        sha1: None,
                    };
                    if writer.event(&event)? {
                        written += 1;
                    }
                }
            }
            Ok::<_, StoreError>(())
        })?;
        progress(written);
    }
    data.write(|writer: &mut dyn Sink| {
        for device in 0..DEVICES {
            writer.device_group(&device_id(device), Some(&format!("group-{}", device % 10)))?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(written)
}

fn device_id(device: u64) -> String {
    format!("synth-device-{device:05}")
}
