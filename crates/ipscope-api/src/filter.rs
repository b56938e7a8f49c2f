//! The page's list logic: the timeline search box over observed devices, and the alerts table's filters and sort.

use crate::time::absolute_utc;
use crate::wire::{Alert, AlertStatus, ObservedDevice, Severity};

/// Lower case as Unicode defines it. In the browser that is JavaScript's `toLowerCase`: std's `to_lowercase` would
/// bring its 12 KB conversion table into the module (the answers are the same but for Unicode-version differences).
fn lowercase(text: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    let lower = String::from(js_sys::JsString::from(text).to_lower_case());
    #[cfg(not(target_arch = "wasm32"))]
    let lower = text.to_lowercase();
    lower
}

/// Whether a device matches the timeline search box: every word of `query` must appear (case-insensitive)
/// in its name, its initiating file name or SHA1, or its last-seen date (`2026-11-24`, `2026-11-24 17:00`).
pub fn device_matches(device: &ObservedDevice, query: &str) -> bool {
    let mut words = query.split_whitespace().peekable();
    if words.peek().is_none() {
        // No filter: the table's first drawing of 100 rows skips building and lower-casing 100 haystacks.
        return true;
    }
    let haystack = format!(
        "{}\n{}\n{}\n{}",
        device.computer_dns_name,
        device.initiating_process_file_name.as_deref().unwrap_or(""),
        device.initiating_process_sha1.as_deref().unwrap_or(""),
        absolute_utc(device.last_seen),
    );
    let haystack = lowercase(&haystack);
    words.all(|word| haystack.contains(&lowercase(word)))
}

/// The devices matching `query`, in their original order.
pub fn filter_devices<'a>(devices: &'a [ObservedDevice], query: &str) -> Vec<&'a ObservedDevice> {
    devices.iter().filter(|d| device_matches(d, query)).collect()
}

/// A column of the alerts table that can be sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertColumn {
    /// Title, alphabetical.
    Title,
    /// Severity, by rank.
    Severity,
    /// Status, in workflow order.
    Status,
    /// Device name.
    Device,
    /// First activity.
    FirstActivity,
    /// Last activity.
    LastActivity,
}

impl AlertColumn {
    /// Every sortable column.
    pub const ALL: [AlertColumn; 6] = [
        AlertColumn::Title,
        AlertColumn::Severity,
        AlertColumn::Status,
        AlertColumn::Device,
        AlertColumn::FirstActivity,
        AlertColumn::LastActivity,
    ];

    /// The token used in URLs.
    pub fn token(self) -> &'static str {
        match self {
            AlertColumn::Title => "title",
            AlertColumn::Severity => "severity",
            AlertColumn::Status => "status",
            AlertColumn::Device => "device",
            AlertColumn::FirstActivity => "first",
            AlertColumn::LastActivity => "last",
        }
    }

    /// The column for a URL token.
    pub fn from_token(token: &str) -> Option<AlertColumn> {
        AlertColumn::ALL.into_iter().find(|c| c.token() == token)
    }
}

/// How the alerts table is sorted and filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    /// Sort column.
    pub sort: AlertColumn,
    /// Descending when true.
    pub descending: bool,
    /// Only this severity, when set.
    pub severity: Option<Severity>,
    /// Only this status, when set.
    pub status: Option<AlertStatus>,
}

impl Default for AlertView {
    /// Newest activity first, everything shown.
    fn default() -> Self {
        AlertView { sort: AlertColumn::LastActivity, descending: true, severity: None, status: None }
    }
}

impl AlertView {
    /// The URL parameters this view lives in: `?severity=High&status=New&sort=severity&dir=asc`.
    pub const URL_KEYS: [&'static str; 4] = ["severity", "status", "sort", "dir"];

    /// The view the URL's `severity`, `status`, `sort` and `dir` parameters describe; what is missing or
    /// unrecognised keeps its default.
    pub fn from_url(severity: Option<&str>, status: Option<&str>, sort: Option<&str>, dir: Option<&str>) -> AlertView {
        let default = AlertView::default();
        AlertView {
            sort: sort.and_then(AlertColumn::from_token).unwrap_or(default.sort),
            descending: dir != Some("asc"),
            severity: severity.and_then(|s| Severity::ALL.into_iter().find(|x| x.as_str() == s)),
            status: status.and_then(|s| AlertStatus::ALL.into_iter().find(|x| x.as_str() == s)),
        }
    }

    /// The URL parameters (`URL_KEYS`, in order) that restore this view: `None` removes one (its default).
    pub fn to_url(&self) -> [(&'static str, Option<String>); 4] {
        let default = AlertView::default();
        [
            ("severity", self.severity.map(|s| s.as_str().to_string())),
            ("status", self.status.map(|s| s.as_str().to_string())),
            ("sort", (self.sort != default.sort).then(|| self.sort.token().to_string())),
            ("dir", (!self.descending).then(|| "asc".to_string())),
        ]
    }
}

fn status_rank(s: AlertStatus) -> usize {
    AlertStatus::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// The alerts to show, as positions in `alerts`, filtered and sorted as `view` says; ties keep the newest first.
/// Positions rather than the alerts: the table's view of them is kept, compared and changed without copying them.
pub fn view_alerts(alerts: &[Alert], view: &AlertView) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..alerts.len())
        .filter(|&i| view.severity.is_none_or(|s| alerts[i].severity == s))
        .filter(|&i| view.status.is_none_or(|s| alerts[i].status == s))
        .collect();
    let last = |a: &Alert| a.last_event_time.unwrap_or(a.alert_creation_time);
    let first = |a: &Alert| a.first_event_time.unwrap_or(a.alert_creation_time);
    merge_sort_by(&mut shown, |&a, &b| {
        let (a, b) = (&alerts[a], &alerts[b]);
        let order = match view.sort {
            AlertColumn::Title => lowercase(&a.title).cmp(&lowercase(&b.title)),
            AlertColumn::Severity => a.severity.rank().cmp(&b.severity.rank()),
            AlertColumn::Status => status_rank(a.status).cmp(&status_rank(b.status)),
            AlertColumn::Device => a.computer_dns_name.cmp(&b.computer_dns_name),
            AlertColumn::FirstActivity => first(a).cmp(&first(b)),
            AlertColumn::LastActivity => last(a).cmp(&last(b)),
        };
        let order = if view.descending { order.reverse() } else { order };
        order.then_with(|| last(b).cmp(&last(a)))
    });
    shown
}

/// Sorts `items` by `compare`, stably (equal items keep their order), by merging runs of doubling width. The
/// standard library's `sort_by` is faster on long lists but is several kilobytes of code per element type and
/// comparison, in a module the analyst downloads; an alerts table is sorted in well under a millisecond either way.
pub fn merge_sort_by<T: Copy>(items: &mut [T], compare: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let n = items.len();
    let mut from = items.to_vec();
    let mut to = items.to_vec();
    let mut width = 1;
    while width < n {
        for start in (0..n).step_by(2 * width) {
            let (mid, end) = ((start + width).min(n), (start + 2 * width).min(n));
            let (mut left, mut right) = (start, mid);
            for slot in &mut to[start..end] {
                // Ties take from the left run: that keeps the sort stable.
                let take_left = right == end || (left < mid && compare(&from[left], &from[right]).is_le());
                if take_left {
                    *slot = from[left];
                    left += 1;
                } else {
                    *slot = from[right];
                    right += 1;
                }
            }
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    items.copy_from_slice(&from);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn device(name: &str, file: &str, day: u32) -> ObservedDevice {
        ObservedDevice {
            machine_id: name.to_string(),
            computer_dns_name: name.to_string(),
            last_seen: Utc.with_ymd_and_hms(2026, 11, day, 17, 0, 0).unwrap(),
            connections: 1,
            remote_port: 443,
            protocol: Some("Tcp".into()),
            action_type: "ConnectionSuccess".into(),
            initiating_process_file_name: Some(file.to_string()),
            initiating_process_sha1: Some("d2f1a8c47e3b".into()),
            local_ip: None,
            remote_url: None,
        }
    }

    fn check(query: &str, expected: &[&str]) {
        let devices = [
            device("fin-lt-0042", "svc-updater.exe", 24),
            device("eng-ws-1007", "msedge.exe", 12),
            device("FIN-srv-01", "curl", 3),
        ];
        let got: Vec<&str> = filter_devices(&devices, query).iter().map(|d| d.computer_dns_name.as_str()).collect();
        assert_eq!(got, expected, "query {query:?}");
    }

    #[test]
    fn the_timeline_search_box_matches_name_file_and_date() {
        check("", &["fin-lt-0042", "eng-ws-1007", "FIN-srv-01"]);
        check(" \t ", &["fin-lt-0042", "eng-ws-1007", "FIN-srv-01"]);
        check("no-such-device", &[]);
        check("fin", &["fin-lt-0042", "FIN-srv-01"]);
        check("UPDATER", &["fin-lt-0042"]);
        check("2026-11-12", &["eng-ws-1007"]);
        check("2026-11-0", &["FIN-srv-01"]);
        check("fin curl", &["FIN-srv-01"]);
        check("d2f1a8", &["fin-lt-0042", "eng-ws-1007", "FIN-srv-01"]);
        check("nothing-like-this", &[]);
    }

    fn alert(id: &str, severity: Severity, status: AlertStatus, day: u32) -> Alert {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": format!("alert {id}"), "severity": severity, "status": status,
            "alertCreationTime": Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap(),
        }))
        .unwrap()
    }

    #[test]
    fn the_alert_view_round_trips_through_the_url() {
        type Params<'a> = [Option<&'a str>; 4];
        let cases: [(Params, AlertView, Params); 5] = [
            ([None; 4], AlertView::default(), [None; 4]),
            (
                [Some("High"), Some("New"), Some("severity"), Some("asc")],
                AlertView {
                    sort: AlertColumn::Severity,
                    descending: false,
                    severity: Some(Severity::High),
                    status: Some(AlertStatus::New),
                },
                [Some("High"), Some("New"), Some("severity"), Some("asc")],
            ),
            // Unknown values keep the defaults; the URL they give back is the clean one.
            ([Some("Severe"), Some("Open"), Some("colour"), Some("up")], AlertView::default(), [None; 4]),
            (
                [None, None, Some("last"), Some("desc")],
                AlertView::default(),
                [None; 4], // the default sort needs no parameter
            ),
            (
                [None, Some("Resolved"), Some("title"), None],
                AlertView { sort: AlertColumn::Title, status: Some(AlertStatus::Resolved), ..AlertView::default() },
                [None, Some("Resolved"), Some("title"), None],
            ),
        ];
        for (url, view, back) in cases {
            let parsed = AlertView::from_url(url[0], url[1], url[2], url[3]);
            assert_eq!(parsed, view, "{url:?}");
            let params = parsed.to_url();
            let keys: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, AlertView::URL_KEYS);
            let values: Vec<Option<&str>> = params.iter().map(|(_, v)| v.as_deref()).collect();
            assert_eq!(values, back, "{url:?}");
        }
    }

    #[test]
    fn alerts_filter_and_sort() {
        let alerts = [
            alert("a", Severity::Low, AlertStatus::New, 3),
            alert("b", Severity::High, AlertStatus::Resolved, 1),
            alert("c", Severity::Medium, AlertStatus::New, 2),
        ];
        let ids =
            |view: &AlertView| view_alerts(&alerts, view).iter().map(|&i| alerts[i].id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&AlertView::default()), ["a", "c", "b"]);
        let by_severity = AlertView { sort: AlertColumn::Severity, ..AlertView::default() };
        assert_eq!(ids(&by_severity), ["b", "c", "a"]);
        assert_eq!(ids(&AlertView { descending: false, ..by_severity.clone() }), ["a", "c", "b"]);
        assert_eq!(ids(&AlertView { status: Some(AlertStatus::New), ..AlertView::default() }), ["a", "c"]);
        assert_eq!(ids(&AlertView { severity: Some(Severity::High), ..AlertView::default() }), ["b"]);
        assert_eq!(
            ids(&AlertView { severity: Some(Severity::Informational), ..AlertView::default() }),
            Vec::<String>::new()
        );
        for c in AlertColumn::ALL {
            assert_eq!(AlertColumn::from_token(c.token()), Some(c));
        }
    }

    #[test]
    fn merge_sort_sorts_as_the_standard_library_does_stably() {
        // A small linear congruential generator: many lengths, many ties.
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for len in (0..40).chain([100, 257, 1000]) {
            let keys: Vec<(u32, usize)> = (0..len).map(|i| (next() % 7, i)).collect();
            let mut ours = keys.clone();
            merge_sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = keys.clone();
            std.sort_by_key(|a| a.0);
            // Equal keys in their original order: the same as the standard library's stable sort.
            assert_eq!(ours, std, "length {len}");
        }
    }
}
