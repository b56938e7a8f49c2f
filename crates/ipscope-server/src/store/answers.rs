//! The API's answers from whichever store holds the data: each reads the same on SQLite and ClickHouse.

use std::net::IpAddr;

use ipscope_api::period::Period;
use ipscope_api::wire::{Alert, DeviceConnection, Machine, ObservedDevices, Prevalence};

use super::clickhouse::reads;
use super::{investigation, queries, DataStore, Scope, Source, StoreError};

impl DataStore {
    /// Alerts whose evidence names `ip`, newest first, those in `scope` only.
    pub async fn alerts_for_ip(&self, ip: IpAddr, scope: Scope) -> Result<Vec<Alert>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::alerts_for_ip(c, ip, &scope),
            Source::ClickHouse(ch) => reads::alerts_for_ip(ch, ip, &scope),
        })
        .await
    }

    /// One alert, if it exists and is in `scope`.
    pub async fn alert(&self, id: String, scope: Scope) -> Result<Option<Alert>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::alert(c, &id, &scope),
            Source::ClickHouse(ch) => reads::alert(ch, &id, &scope),
        })
        .await
    }

    /// The IPs an alert's evidence names; `None` for an unknown alert or one outside `scope`.
    pub async fn alert_ips(&self, id: String, scope: Scope) -> Result<Option<Vec<String>>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::alert_ips(c, &id, &scope),
            Source::ClickHouse(ch) => reads::alert_ips(ch, &id, &scope),
        })
        .await
    }

    /// A machine by id or name, if in `scope`.
    pub async fn machine(&self, id_or_name: String, scope: Scope) -> Result<Option<Machine>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::machine(c, &id_or_name, &scope),
            Source::ClickHouse(ch) => reads::machine(ch, &id_or_name, &scope),
        })
        .await
    }

    /// Alerts on a machine, newest first, those in `scope` only.
    pub async fn machine_alerts(&self, machine_id: String, scope: Scope) -> Result<Vec<Alert>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::machine_alerts(c, &machine_id, &scope),
            Source::ClickHouse(ch) => reads::machine_alerts(ch, &machine_id, &scope),
        })
        .await
    }

    /// Observed addresses starting with `prefix`.
    pub async fn ips_with_prefix(&self, prefix: String, limit: usize, scope: Scope) -> Result<Vec<String>, StoreError> {
        self.read(move |s| match s {
            Source::Sqlite(c) => queries::ips_with_prefix(c, &prefix, limit, &scope),
            Source::ClickHouse(ch) => reads::ips_with_prefix(ch, &prefix, limit, &scope),
        })
        .await
    }

    /// Prevalence of `ip` in `period` over the devices in `scope`.
    pub async fn prevalence(&self, ip: IpAddr, period: Period, scope: Scope) -> Result<Prevalence, StoreError> {
        self.read(move |s| investigation::prevalence(s.events(), ip, period, &scope)).await
    }

    /// The devices in `scope` that connected to `ip` in `period`, at most `top`.
    pub async fn observed_devices(
        &self,
        ip: IpAddr,
        period: Period,
        top: usize,
        scope: Scope,
    ) -> Result<ObservedDevices, StoreError> {
        self.read(move |s| investigation::observed_devices(s.events(), ip, period, top, &scope)).await
    }

    /// The remote addresses of the device `id_or_name` in `period`, at most `top`; `None` when there is no such
    /// device or machine in `scope`.
    pub async fn machine_connections(
        &self,
        id_or_name: String,
        period: Period,
        top: usize,
        scope: Scope,
    ) -> Result<Option<Vec<DeviceConnection>>, StoreError> {
        self.read(move |s| {
            let device = match &s {
                Source::Sqlite(c) => queries::device_of(c, &id_or_name)?,
                Source::ClickHouse(ch) => reads::device_of(ch, &id_or_name)?,
            };
            match device {
                Some((device, group)) if scope.allows(group.as_deref()) => {
                    investigation::device_connections(s.events(), &device, period, top).map(Some)
                }
                Some(_) => Ok(None),
                // A machine no event named has no connections.
                None => Ok(match &s {
                    Source::Sqlite(c) => queries::machine(c, &id_or_name, &scope)?,
                    Source::ClickHouse(ch) => reads::machine(ch, &id_or_name, &scope)?,
                }
                .map(|_| Vec::new())),
            }
        })
        .await
    }
}
