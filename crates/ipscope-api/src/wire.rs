//! The JSON shapes on the wire, with Defender's field names. Each Defender name appears here and nowhere else.

use crate::json::{FromJson, ToJson};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An OData collection: `{"@odata.context": "...", "value": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
pub struct Collection<T> {
    /// The OData metadata URL naming the entity set, e.g. `.../$metadata#Alerts`.
    #[serde(rename = "@odata.context", default)]
    pub context: String,
    /// The entities.
    pub value: Vec<T>,
}

impl<T> Collection<T> {
    /// A collection of `value` for the entity set `entity_set` (e.g. `"Alerts"`).
    pub fn new(entity_set: &str, value: Vec<T>) -> Self {
        Collection { context: format!("{ODATA_METADATA}#{entity_set}"), value }
    }
}

/// The metadata URL prefix used in `@odata.context`, as Defender sends it.
pub const ODATA_METADATA: &str = "https://api.security.microsoft.com/api/$metadata";

/// The body of every error answer: `{"error": {"code", "message", "target"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// Details of an error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
pub struct ErrorDetail {
    /// A Defender error code such as `InvalidIpAddress`, `NotFound`, `BadRequest`, `TooManyRequests`.
    pub code: String,
    /// A sentence saying what is wrong and how to fix it.
    pub message: String,
    /// The request id, for correlating with server logs.
    #[serde(default)]
    pub target: String,
}

/// Alert severity, Defender's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, FromJson, ToJson)]
pub enum Severity {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Not set; also what an unrecognised value reads as.
    #[serde(other)]
    UnSpecified,
}

impl Severity {
    /// Every value, least severe first.
    pub const ALL: [Severity; 5] =
        [Severity::UnSpecified, Severity::Informational, Severity::Low, Severity::Medium, Severity::High];

    /// Order for sorting: `UnSpecified` < `Informational` < `Low` < `Medium` < `High`.
    pub fn rank(self) -> u8 {
        Severity::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    /// The wire name, e.g. `"High"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::UnSpecified => "UnSpecified",
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
        }
    }
}

/// Alert status, Defender's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, FromJson, ToJson)]
pub enum AlertStatus {
    /// New.
    New,
    /// Being worked on.
    InProgress,
    /// Closed.
    Resolved,
    /// Not known; also what an unrecognised value reads as.
    #[serde(other)]
    Unknown,
}

impl AlertStatus {
    /// Every value, in workflow order.
    pub const ALL: [AlertStatus; 4] =
        [AlertStatus::New, AlertStatus::InProgress, AlertStatus::Resolved, AlertStatus::Unknown];

    /// The wire name, e.g. `"InProgress"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "New",
            AlertStatus::InProgress => "InProgress",
            AlertStatus::Resolved => "Resolved",
            AlertStatus::Unknown => "Unknown",
        }
    }
}

/// A Defender alert entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Alert id, e.g. `da637472900382838869_1364969609`.
    pub id: String,
    /// Incident the alert belongs to.
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Automated investigation id.
    #[serde(default)]
    pub investigation_id: Option<i64>,
    /// Owner of the alert.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: AlertStatus,
    /// `TruePositive`, `FalsePositive`, `Informational, expected activity`, or unset.
    #[serde(default)]
    pub classification: Option<String>,
    /// Determination (e.g. `Malware`), or unset.
    #[serde(default)]
    pub determination: Option<String>,
    /// State of the automated investigation.
    #[serde(default)]
    pub investigation_state: Option<String>,
    /// Detection source, e.g. `WindowsDefenderAtp`.
    #[serde(default)]
    pub detection_source: Option<String>,
    /// Id of the detector that raised the alert.
    #[serde(default)]
    pub detector_id: Option<String>,
    /// Category, e.g. `CommandAndControl`.
    #[serde(default)]
    pub category: Option<String>,
    /// Threat family.
    #[serde(default)]
    pub threat_family_name: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// When the alert was created.
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub alert_creation_time: DateTime<Utc>,
    /// First event that caused the alert.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub first_event_time: Option<DateTime<Utc>>,
    /// Last event that caused the alert.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub last_event_time: Option<DateTime<Utc>>,
    /// Last update of the alert.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub last_update_time: Option<DateTime<Utc>>,
    /// When the alert was resolved.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub resolved_time: Option<DateTime<Utc>>,
    /// Device the alert is on.
    #[serde(default)]
    pub machine_id: Option<String>,
    /// Name of the device the alert is on.
    #[serde(default)]
    pub computer_dns_name: Option<String>,
    /// Device group.
    #[serde(default)]
    pub rbac_group_name: Option<String>,
    /// Tenant.
    #[serde(default)]
    pub aad_tenant_id: Option<String>,
    /// Threat name.
    #[serde(default)]
    pub threat_name: Option<String>,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub mitre_techniques: Vec<String>,
    /// User related to the alert.
    #[serde(default)]
    pub related_user: Option<RelatedUser>,
    /// Analyst comments.
    #[serde(default)]
    pub comments: Vec<AlertComment>,
    /// Entities involved (files, processes, IPs, URLs, users...).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The user an alert relates to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct RelatedUser {
    /// User name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Domain.
    #[serde(default)]
    pub domain_name: Option<String>,
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct AlertComment {
    /// The text.
    #[serde(default)]
    pub comment: Option<String>,
    /// Author.
    #[serde(default)]
    pub created_by: Option<String>,
    /// When it was written.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub created_time: Option<DateTime<Utc>>,
}

/// One piece of alert evidence. Which fields are set depends on `entity_type`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `File`, `Process`, `Ip`, `Url`, `User`, `Registry`...
    pub entity_type: String,
    /// When the evidence was recorded.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub evidence_creation_time: Option<DateTime<Utc>>,
    /// File SHA1.
    #[serde(default)]
    pub sha1: Option<String>,
    /// File SHA256.
    #[serde(default)]
    pub sha256: Option<String>,
    /// File name.
    #[serde(default)]
    pub file_name: Option<String>,
    /// File folder.
    #[serde(default)]
    pub file_path: Option<String>,
    /// Process id.
    #[serde(default)]
    pub process_id: Option<i64>,
    /// Process command line.
    #[serde(default)]
    pub process_command_line: Option<String>,
    /// Process start.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub process_creation_time: Option<DateTime<Utc>>,
    /// Parent process id.
    #[serde(default)]
    pub parent_process_id: Option<i64>,
    /// Parent process file name.
    #[serde(default)]
    pub parent_process_file_name: Option<String>,
    /// IP address, for `Ip` evidence.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// URL, for `Url` evidence.
    #[serde(default)]
    pub url: Option<String>,
    /// Account name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Account domain.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Account SID.
    #[serde(default)]
    pub user_sid: Option<String>,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// `Detected`, `Blocked`, `Prevented`...
    #[serde(default)]
    pub detection_status: Option<String>,
}

/// One network interface address of a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct MachineIpAddress {
    /// The address.
    pub ip_address: String,
    /// MAC address of the interface.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// `Up`, `Down`...
    #[serde(default)]
    pub operational_status: Option<String>,
}

/// A Defender machine (device) entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Device id.
    pub id: String,
    /// Fully qualified name.
    pub computer_dns_name: String,
    /// First seen by the sensor.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub first_seen: Option<DateTime<Utc>>,
    /// Last full device report.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub last_seen: Option<DateTime<Utc>>,
    /// `Windows11`, `Linux`, `macOS`...
    #[serde(default)]
    pub os_platform: Option<String>,
    /// OS version.
    #[serde(default)]
    pub version: Option<String>,
    /// OS build.
    #[serde(default)]
    pub os_build: Option<i64>,
    /// `x64`, `arm64`...
    #[serde(default)]
    pub os_architecture: Option<String>,
    /// Last local address.
    #[serde(default)]
    pub last_ip_address: Option<String>,
    /// Last address seen from the internet.
    #[serde(default)]
    pub last_external_ip_address: Option<String>,
    /// `Active`, `Inactive`, `ImpairedCommunication`, `NoSensorData`...
    #[serde(default)]
    pub health_status: Option<String>,
    /// `None`, `Informational`, `Low`, `Medium`, `High`.
    #[serde(default)]
    pub risk_score: Option<String>,
    /// `None`, `Low`, `Medium`, `High`.
    #[serde(default)]
    pub exposure_level: Option<String>,
    /// `Normal`, `Low`, `High`.
    #[serde(default)]
    pub device_value: Option<String>,
    /// Device group id.
    #[serde(default)]
    pub rbac_group_id: Option<i64>,
    /// Device group: who may see the device, its connections and its alerts.
    #[serde(default)]
    pub rbac_group_name: Option<String>,
    /// `Onboarded`...
    #[serde(default)]
    pub onboarding_status: Option<String>,
    /// Whether the device is joined to Entra ID.
    #[serde(default)]
    pub is_aad_joined: Option<bool>,
    /// Entra device id.
    #[serde(default)]
    pub aad_device_id: Option<String>,
    /// Tags.
    #[serde(default)]
    pub machine_tags: Vec<String>,
    /// Interface addresses.
    #[serde(default)]
    pub ip_addresses: Vec<MachineIpAddress>,
}

/// `GET /api/ips/{ip}/stats`: how prevalent an IP is in the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct IpStats {
    /// OData context of the `InOrgIPStats` entity.
    #[serde(rename = "@odata.context", default)]
    pub context: String,
    /// The address asked about.
    pub ip_address: String,
    /// Distinct devices that connected to the address in the period.
    pub organization_prevalence: u64,
    /// First connection in the period, if any.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub org_first_seen: Option<DateTime<Utc>>,
    /// Last connection in the period, if any.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub org_last_seen: Option<DateTime<Utc>>,
}

/// An element of `GET /api/alerts/{id}/ips`: `{"id": "<ip>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson, ToJson)]
pub struct IpRef {
    /// The address.
    pub id: String,
}

/// One device that connected to an IP, with the details of its last connection in the period (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct ObservedDevice {
    /// Device id (link to `/machines/{id}`).
    pub machine_id: String,
    /// Device name.
    pub computer_dns_name: String,
    /// Time of its last connection to the IP in the period.
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub last_seen: DateTime<Utc>,
    /// Connections from this device to the IP in the period.
    pub connections: u64,
    /// Remote port of the last connection.
    pub remote_port: u16,
    /// Protocol of the last connection (`Tcp`, `Udp`...).
    pub protocol: Option<String>,
    /// `ConnectionSuccess`, `ConnectionFailed`...
    pub action_type: String,
    /// File name of the process that made the last connection.
    pub initiating_process_file_name: Option<String>,
    /// SHA1 of that file.
    pub initiating_process_sha1: Option<String>,
    /// The device's address on that connection.
    pub local_ip: Option<String>,
    /// URL of the last connection, when the sensor saw one.
    pub remote_url: Option<String>,
}

/// `GET /api/ips/{ip}/devices`: the devices that connected to an IP in a period, most recent first (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct ObservedDevices {
    /// OData context.
    #[serde(rename = "@odata.context", default)]
    pub context: String,
    /// Devices in the whole period, of which `value` holds at most `$top`.
    #[serde(rename = "@odata.count")]
    pub count: u64,
    /// The address asked about.
    pub ip_address: String,
    /// Period start.
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub to: DateTime<Utc>,
    /// The devices, most recent connection first.
    pub value: Vec<ObservedDevice>,
}

/// Devices and connections on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    /// The UTC day, `YYYY-MM-DD`.
    #[serde(deserialize_with = "crate::time::de_date")]
    pub date: chrono::NaiveDate,
    /// Distinct devices that connected that day.
    pub devices: u64,
    /// Connections that day.
    pub connections: u64,
}

/// `GET /api/ips/{ip}/prevalence`: prevalence in a period with a per-day series (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct Prevalence {
    /// The address asked about.
    pub ip_address: String,
    /// Period start.
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub to: DateTime<Utc>,
    /// Distinct devices in the period.
    pub organization_prevalence: u64,
    /// Connections in the period.
    pub connections: u64,
    /// First connection in the period.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub org_first_seen: Option<DateTime<Utc>>,
    /// Last connection in the period.
    #[serde(default, deserialize_with = "crate::time::de_utc_option")]
    pub org_last_seen: Option<DateTime<Utc>>,
    /// Every UTC day the period touches, oldest first, including days without connections.
    pub days: Vec<DayCount>,
}

/// One remote address a device connected to (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct DeviceConnection {
    /// The remote address (link to `/ips/{ip}`).
    pub remote_ip: String,
    /// Last connection in the period.
    #[serde(deserialize_with = "crate::time::de_utc")]
    pub last_seen: DateTime<Utc>,
    /// Connections in the period.
    pub connections: u64,
    /// Remote port of the last connection.
    pub remote_port: u16,
    /// Protocol of the last connection.
    pub protocol: Option<String>,
    /// Action of the last connection.
    pub action_type: String,
    /// Process file of the last connection.
    pub initiating_process_file_name: Option<String>,
    /// URL of the last connection.
    pub remote_url: Option<String>,
}

/// Geolocation and registration of an address (extension); every field "if available".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "camelCase")]
pub struct GeoInfo {
    /// Organization (ISP) holding the address block.
    pub organization: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// ISO 3166 country code.
    pub country_code: Option<String>,
    /// Country name.
    pub country: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Mobile carrier.
    pub carrier: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// Where geolocation data came from, for attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    /// Name of the database, e.g. `DB-IP IP to City Lite`.
    pub name: String,
    /// Build date of the data, `YYYY-MM-DD`, if known.
    pub date: Option<String>,
    /// Licence, e.g. `CC BY 4.0`.
    pub license: String,
    /// Attribution link.
    pub url: String,
}

/// `GET /api/ips/{ip}/profile`: what the address is (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "camelCase")]
pub struct IpProfile {
    /// The address.
    pub ip_address: String,
    /// Its class (public, private, loopback...).
    pub address_class: crate::ip::AddressClass,
    /// Geolocation; all fields empty when not available.
    pub geo: GeoInfo,
    /// The databases the geolocation came from; empty when none is installed.
    pub sources: Vec<DataSource>,
}

/// `GET /api/health` (an extension): the server answers and its database is in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson, ToJson)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Who a token stands for (`GET /api/me`, an extension): the app shows it as the signed-in analyst.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson, ToJson)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The token's name, or the user or application name at the identity provider.
    pub name: String,
    /// Defender permission names the token carries.
    pub permissions: Vec<String>,
    /// The device groups whose devices the caller sees; `null` for every device.
    pub device_groups: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_defender_alert_and_tolerates_unknown_values() {
        let json = r#"{
            "id": "da637472900382838869_1364969609", "incidentId": 1126093, "severity": "High",
            "status": "SomethingNew", "title": "Suspicious C2", "alertCreationTime": "2021-01-26T20:33:57.7220239Z",
            "mitreTechniques": ["T1071"], "someFutureField": 3,
            "evidence": [{"entityType": "Ip", "ipAddress": "45.77.12.9", "extra": null}]
        }"#;
        let alert: Alert = serde_json::from_str(json).unwrap();
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.status, AlertStatus::Unknown);
        assert_eq!(alert.evidence[0].ip_address.as_deref(), Some("45.77.12.9"));
        let back = serde_json::to_value(&alert).unwrap();
        assert_eq!(back["alertCreationTime"], "2021-01-26T20:33:57.722023900Z");
        assert_eq!(back["incidentId"], 1126093);
    }

    #[test]
    fn collections_carry_the_odata_context() {
        let c = Collection::new("Ips", vec![IpRef { id: "1.2.3.4".into() }]);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["@odata.context"], "https://api.security.microsoft.com/api/$metadata#Ips");
        assert_eq!(v["value"][0]["id"], "1.2.3.4");
    }
}
