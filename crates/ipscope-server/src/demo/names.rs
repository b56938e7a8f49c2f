//! Device names, platforms, departments and tags for the demo organization.

const DEPARTMENTS: [&str; 6] = ["Finance", "Engineering", "Sales", "HR", "Operations", "IT"];
const PREFIXES: [&str; 6] = ["fin", "eng", "sales", "hr", "ops", "it"];

/// The department (device group) of device `i`.
pub fn department(i: usize) -> &'static str {
    DEPARTMENTS[i % DEPARTMENTS.len()]
}

/// The id of device `i`'s device group (`rbacGroupId`).
pub fn department_id(i: usize) -> i64 {
    (i % DEPARTMENTS.len()) as i64 + 1
}

/// Name, OS platform and version of device `i`; `noise` picks among equally likely platforms.
pub fn device_name(i: usize, noise: u64) -> (String, &'static str, &'static str) {
    if i % 40 == 7 {
        let os = if noise.is_multiple_of(3) { ("Linux", "Ubuntu 22.04") } else { ("WindowsServer2022", "21H2") };
        return (format!("srv-{}-{:02}.corp.contoso.example", PREFIXES[i % 6], i / 40), os.0, os.1);
    }
    let (kind, os, version) = match noise % 10 {
        0..=5 => ("lt", "Windows11", "23H2"),
        6..=7 => ("ws", "Windows10", "22H2"),
        8 => ("mac", "macOS", "14.5"),
        _ => ("lt", "Windows11", "24H2"),
    };
    (format!("{}-{kind}-{:04}.corp.contoso.example", PREFIXES[i % 6], 1000 + i), os, version)
}

/// Tags of device `i`.
pub fn tags(i: usize) -> Vec<String> {
    let mut tags = vec![department(i).to_string()];
    if i % 40 == 7 {
        tags.push("Server".to_string());
    }
    if i.is_multiple_of(17) {
        tags.push("VIP".to_string());
    }
    tags
}
