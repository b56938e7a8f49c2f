//! `ipscope-server demo`: a deterministic, realistic organization so the portal is useful on first run.
//!
//! The same `now` always gives the same database: devices, 90 days of connections to common SaaS,
//! internal servers, rare destinations, an IPv6 destination, and two malicious IPs with beacons and alerts.

mod names;

use std::net::IpAddr;

use chrono::{DateTime, Duration, DurationRound, Utc};
use ipscope_api::wire::{Alert, AlertStatus, Evidence, Machine, MachineIpAddress, Severity};

use crate::store::writes::{NewEvent, Sink};
use crate::store::{DataStore, StoreError};

/// Days of history generated.
pub const DAYS: i64 = 90;
/// Devices generated.
pub const N_DEVICES: usize = 320;

/// The command-and-control server that five devices beacon to every hour (worth opening first).
pub const BEACON_IP: &str = "203.0.113.66";
/// A malware download site two devices fetched from once.
pub const DOWNLOAD_IP: &str = "198.51.100.23";
/// A SaaS address nearly every device talks to every day.
pub const COMMON_IP: &str = "13.107.42.14";

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Machines.
    pub machines: usize,
    /// Alerts.
    pub alerts: usize,
    /// Events written (new rows).
    pub events: u64,
}

/// A small, fast, seedable generator (SplitMix64), so the demo is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn hex(&mut self, n_chars: usize) -> String {
        let mut s = String::with_capacity(n_chars);
        while s.len() < n_chars {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n_chars);
        s
    }
}

struct Device {
    id: String,
    name: String,
    local_ip: String,
}

/// A destination and how devices use it.
struct Destination {
    ip: &'static str,
    url: Option<&'static str>,
    port: u16,
    protocol: &'static str,
    /// Percentage of devices that use it.
    reach: u64,
    /// Connections per device on an active day.
    per_day: u64,
    /// Percentage of days a user of it is active.
    active_days: u64,
    process: usize,
}

/// Initiating processes: (file name, SHA1).
const PROCESSES: [(&str, &str); 8] = [
    ("msedge.exe", "3c5b4b3f0ab7b1a8bbf6bd7d0a1e1c0d2c7e9f10"),
    ("teams.exe", "6f1d2a9c4e3b8f7a0d5c2e1b9a8f7e6d5c4b3a21"),
    ("outlook.exe", "a8f5c3e2d1b0a9f8e7d6c5b4a3f2e1d0c9b8a732"),
    ("svchost.exe", "1b2c3d4e5f60718293a4b5c6d7e8f9011a2b3c43"),
    ("chrome.exe", "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e54"),
    ("OneDrive.exe", "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a65"),
    ("curl", "7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f76"),
    ("git.exe", "2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d87"),
];

const DESTINATIONS: [Destination; 10] = [
    Destination {
        ip: COMMON_IP,
        url: Some("outlook.office365.com"),
        port: 443,
        protocol: "Tcp",
        reach: 97,
        per_day: 6,
        active_days: 72,
        process: 2,
    },
    Destination {
        ip: "52.113.194.132",
        url: Some("teams.microsoft.com"),
        port: 443,
        protocol: "Tcp",
        reach: 90,
        per_day: 4,
        active_days: 70,
        process: 1,
    },
    Destination {
        ip: "20.190.151.68",
        url: Some("login.microsoftonline.com"),
        port: 443,
        protocol: "Tcp",
        reach: 95,
        per_day: 2,
        active_days: 75,
        process: 0,
    },
    Destination {
        ip: "142.250.74.46",
        url: Some("www.google.com"),
        port: 443,
        protocol: "Tcp",
        reach: 60,
        per_day: 3,
        active_days: 55,
        process: 4,
    },
    Destination {
        ip: "140.82.112.3",
        url: Some("github.com"),
        port: 443,
        protocol: "Tcp",
        reach: 18,
        per_day: 3,
        active_days: 50,
        process: 7,
    },
    Destination {
        ip: "151.101.1.69",
        url: Some("stackoverflow.com"),
        port: 443,
        protocol: "Tcp",
        reach: 20,
        per_day: 2,
        active_days: 40,
        process: 4,
    },
    Destination {
        ip: "2606:4700:4700::1111",
        url: Some("one.one.one.one"),
        port: 443,
        protocol: "Tcp",
        reach: 25,
        per_day: 2,
        active_days: 45,
        process: 0,
    },
    Destination {
        ip: "10.0.0.10",
        url: None,
        port: 389,
        protocol: "Tcp",
        reach: 100,
        per_day: 3,
        active_days: 75,
        process: 3,
    },
    Destination {
        ip: "10.0.1.20",
        url: Some("files.corp.contoso.example"),
        port: 445,
        protocol: "Tcp",
        reach: 70,
        per_day: 2,
        active_days: 60,
        process: 3,
    },
    Destination {
        ip: "10.0.2.5",
        url: Some("proxy.corp.contoso.example"),
        port: 8080,
        protocol: "Tcp",
        reach: 40,
        per_day: 2,
        active_days: 60,
        process: 5,
    },
];

/// Destinations seen once or twice in the organization.
const RARE: [&str; 6] = [
    "185.199.108.153",
    "104.16.132.229",
    "95.216.24.32",
    "45.33.32.156",
    "91.189.91.39",
    "2a03:2880:f12f:83:face:b00c:0:25de",
];

/// Fills `data` with the demo organization as of `now`.
pub fn generate(data: &DataStore, now: DateTime<Utc>) -> Result<DemoSummary, StoreError> {
    data.write(|sink| generate_in(sink, now))
}

fn generate_in(sink: &mut dyn Sink, now: DateTime<Utc>) -> Result<DemoSummary, StoreError> {
    let mut rng = Rng(0x1b5c_09e5_2026_1125);
    let today = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let start = today - Duration::days(DAYS);

    let (devices, machines) = make_devices(&mut rng, start, now);
    for m in &machines {
        sink.machine(m)?;
    }

    let mut events = 0u64;
    let mut write = |writer: &mut dyn Sink, event: NewEvent| -> Result<(), StoreError> {
        if event.timestamp < now && writer.event(&event)? {
            events += 1;
        }
        Ok(())
    };
    let event = |device: &Device,
                 ts: DateTime<Utc>,
                 ip: &str,
                 port: u16,
                 url: Option<&str>,
                 process: (&str, &str),
                 action: &str,
                 local_port: u16| NewEvent {
        timestamp: ts,
        device_id: device.id.clone(),
        device_name: device.name.clone(),
        action_type: action.to_string(),
        remote_ip: ip.parse::<IpAddr>().expect("demo addresses are valid"),
        remote_port: port,
        remote_url: url.map(str::to_string),
        local_ip: Some(device.local_ip.clone()),
        local_port: Some(local_port),
        protocol: Some("Tcp".to_string()),
        file_name: Some(process.0.to_string()),
        sha1: Some(process.1.to_string()),
    };

    // Everyday traffic.
    for device in &devices {
        for dest in &DESTINATIONS {
            if !rng.chance(dest.reach) {
                continue;
            }
            for day in 0..DAYS {
                if !rng.chance(dest.active_days) {
                    continue;
                }
                for _ in 0..1 + rng.below(dest.per_day * 2) {
                    let ts = start + Duration::days(day) + Duration::seconds(7 * 3600 + rng.below(12 * 3600) as i64);
                    let action = if rng.chance(2) { "ConnectionFailed" } else { "ConnectionSuccess" };
                    let port = 49152 + rng.below(16000) as u16;
                    let mut e = event(device, ts, dest.ip, dest.port, dest.url, PROCESSES[dest.process], action, port);
                    e.protocol = Some(dest.protocol.to_string());
                    write(sink, e)?;
                }
            }
        }
    }

    // Rare destinations: one or two devices, once.
    for (i, ip) in RARE.iter().enumerate() {
        for _ in 0..1 + (i % 2) {
            let device = rng.pick(&devices);
            let ts = start + Duration::seconds(rng.below(DAYS as u64 * 86_400) as i64);
            let process = *rng.pick(&PROCESSES);
            write(sink, event(device, ts, ip, 443, None, process, "ConnectionSuccess", 50_000 + i as u16))?;
        }
    }

    // The beacon: five devices, every hour for the last 12 days, from a dropped "updater".
    let beacon_process = ("svc-updater.exe", "d2f1a8c47e3b9f0e6a5d4c3b2a1f0e9d8c7b6a5f");
    let beaconing: Vec<&Device> = [17usize, 42, 88, 131, 205].iter().map(|&i| &devices[i]).collect();
    let beacon_start = today - Duration::days(12);
    for (n, device) in beaconing.iter().enumerate() {
        let onset = beacon_start + Duration::hours(n as i64 * 9);
        let mut ts = onset + Duration::seconds(rng.below(600) as i64);
        while ts < now {
            write(
                sink,
                event(device, ts, BEACON_IP, 443, None, beacon_process, "ConnectionSuccess", 51_000 + n as u16),
            )?;
            ts += Duration::seconds(3600 + rng.below(120) as i64 - 60);
        }
    }

    // The download: two devices, once each, through the browser.
    let downloaders = [&devices[42], &devices[260]];
    for (n, device) in downloaders.iter().enumerate() {
        let ts = today - Duration::days(13) + Duration::hours(10 + n as i64 * 30);
        let e = event(
            device,
            ts,
            DOWNLOAD_IP,
            80,
            Some("cdn-updates.example.net"),
            PROCESSES[0],
            "ConnectionSuccess",
            52_000,
        );
        write(sink, e)?;
    }

    let alerts = make_alerts(&mut rng, &devices, &beaconing, &downloaders, beacon_start, today, now);
    for a in &alerts {
        sink.alert(a)?;
    }
    Ok(DemoSummary { machines: machines.len(), alerts: alerts.len(), events })
}

fn make_devices(rng: &mut Rng, start: DateTime<Utc>, now: DateTime<Utc>) -> (Vec<Device>, Vec<Machine>) {
    let mut devices = Vec::with_capacity(N_DEVICES);
    let mut machines = Vec::with_capacity(N_DEVICES);
    for i in 0..N_DEVICES {
        let (name, os, version) = names::device_name(i, rng.next());
        let id = rng.hex(40);
        let local_ip = format!("10.{}.{}.{}", 20 + i / 250, (i / 50) % 5 + 1, 10 + i % 240);
        let risk = *rng.pick(&["None", "Low", "Low", "Medium", "Medium", "High"]);
        let health =
            if rng.chance(94) { "Active" } else { *rng.pick(&["Inactive", "ImpairedCommunication", "NoSensorData"]) };
        let first_seen = start - Duration::days(30 + rng.below(400) as i64);
        machines.push(Machine {
            id: id.clone(),
            computer_dns_name: name.clone(),
            first_seen: Some(first_seen),
            last_seen: Some(now - Duration::minutes(rng.below(600) as i64)),
            os_platform: Some(os.to_string()),
            version: Some(version.to_string()),
            os_build: None,
            os_architecture: Some("64-bit".to_string()),
            last_ip_address: Some(local_ip.clone()),
            last_external_ip_address: Some("198.51.100.200".to_string()),
            health_status: Some(health.to_string()),
            risk_score: Some(risk.to_string()),
            exposure_level: Some(rng.pick(&["Low", "Medium", "High"]).to_string()),
            device_value: Some(if name.starts_with("srv") { "High" } else { "Normal" }.to_string()),
            rbac_group_id: Some(names::department_id(i)),
            rbac_group_name: Some(names::department(i).to_string()),
            onboarding_status: Some("Onboarded".to_string()),
            is_aad_joined: Some(os.starts_with("Windows")),
            aad_device_id: None,
            machine_tags: names::tags(i),
            ip_addresses: vec![MachineIpAddress {
                ip_address: local_ip.clone(),
                mac_address: Some(format!("00:15:5d:{:02x}:{:02x}:{:02x}", i / 256, i % 256, rng.below(256))),
                operational_status: Some("Up".to_string()),
            }],
        });
        devices.push(Device { id, name, local_ip });
    }
    (devices, machines)
}

fn ip_evidence(ip: &str, at: DateTime<Utc>) -> Evidence {
    Evidence {
        entity_type: "Ip".into(),
        evidence_creation_time: Some(at),
        ip_address: Some(ip.into()),
        ..Evidence::default()
    }
}

fn file_evidence(name: &str, sha1: &str, at: DateTime<Utc>) -> Evidence {
    Evidence {
        entity_type: "File".into(),
        evidence_creation_time: Some(at),
        file_name: Some(name.into()),
        file_path: Some("C:\\ProgramData\\Updater".into()),
        sha1: Some(sha1.into()),
        detection_status: Some("Detected".into()),
        ..Evidence::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn alert(
    id: String,
    device: &Device,
    title: &str,
    severity: Severity,
    status: AlertStatus,
    category: &str,
    created: DateTime<Utc>,
    last_event: DateTime<Utc>,
    description: &str,
    evidence: Vec<Evidence>,
) -> Alert {
    Alert {
        id,
        incident_id: None,
        investigation_id: None,
        assigned_to: None,
        severity,
        status,
        classification: None,
        determination: None,
        investigation_state: Some("Queued".into()),
        detection_source: Some("WindowsDefenderAtp".into()),
        detector_id: None,
        category: Some(category.into()),
        threat_family_name: None,
        title: title.into(),
        description: Some(description.into()),
        alert_creation_time: created,
        first_event_time: Some(created - Duration::minutes(4)),
        last_event_time: Some(last_event),
        last_update_time: Some(last_event),
        resolved_time: None,
        machine_id: Some(device.id.clone()),
        computer_dns_name: Some(device.name.clone()),
        rbac_group_name: None,
        aad_tenant_id: None,
        threat_name: None,
        mitre_techniques: Vec::new(),
        related_user: None,
        comments: Vec::new(),
        evidence,
    }
}

fn make_alerts(
    rng: &mut Rng,
    devices: &[Device],
    beaconing: &[&Device],
    downloaders: &[&Device],
    beacon_start: DateTime<Utc>,
    today: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    let alert_id =
        |rng: &mut Rng, at: DateTime<Utc>| format!("da{}_{}", at.timestamp_millis() * 10_000, rng.below(2_000_000_000));
    let mut alerts = Vec::new();
    for (n, device) in beaconing.iter().enumerate() {
        let created = beacon_start + Duration::hours(n as i64 * 9 + 3);
        let status =
            [AlertStatus::New, AlertStatus::InProgress, AlertStatus::New, AlertStatus::Resolved, AlertStatus::New][n];
        let mut a = alert(
            alert_id(rng, created),
            device,
            "Suspicious command-and-control beacon",
            Severity::High,
            status,
            "CommandAndControl",
            created,
            now.min(today + Duration::hours(23)),
            "A process made regular outbound connections to a known command-and-control address at a fixed interval.",
            vec![
                ip_evidence(BEACON_IP, created),
                file_evidence("svc-updater.exe", "d2f1a8c47e3b9f0e6a5d4c3b2a1f0e9d8c7b6a5f", created),
            ],
        );
        a.mitre_techniques = vec!["T1071.001".into(), "T1573".into()];
        a.threat_family_name = Some("Cobaltpoint".into());
        alerts.push(a);
    }
    for (n, device) in downloaders.iter().enumerate() {
        let created = today - Duration::days(13) + Duration::hours(10 + n as i64 * 30) + Duration::minutes(2);
        alerts.push(alert(
            alert_id(rng, created),
            device,
            "Malicious file downloaded from the internet",
            Severity::Medium,
            if n == 0 { AlertStatus::Resolved } else { AlertStatus::InProgress },
            "InitialAccess",
            created,
            created,
            "A browser downloaded a file that matches known malware from a suspicious host.",
            vec![
                ip_evidence(DOWNLOAD_IP, created),
                file_evidence("invoice_0423.pdf.exe", "0b5e6a7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a", created),
            ],
        ));
    }
    // Alerts unrelated to any IP, so device pages have variety.
    for k in 0..24 {
        let device = &devices[rng.below(devices.len() as u64) as usize];
        let created = today - Duration::days(rng.below(80) as i64) + Duration::hours(rng.below(24) as i64);
        let (title, severity, category) = *rng.pick(&[
            ("Suspicious PowerShell command line", Severity::Medium, "Execution"),
            ("Unwanted software detected", Severity::Low, "Malware"),
            ("Anomalous scheduled task created", Severity::Low, "Persistence"),
            ("Credential dumping attempt blocked", Severity::High, "CredentialAccess"),
            ("Connection to a rarely seen domain", Severity::Informational, "CommandAndControl"),
        ]);
        let status = if k % 3 == 0 { AlertStatus::Resolved } else { AlertStatus::New };
        alerts.push(alert(
            alert_id(rng, created),
            device,
            title,
            severity,
            status,
            category,
            created,
            created,
            "Generated demo alert.",
            Vec::new(),
        ));
    }
    alerts
}
