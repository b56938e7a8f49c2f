//! Typed extractors for the API's handlers: the caller with a permission (`Can<P>`), the path's address or id
//! (`PathIp`, `MachineId`, `AlertId`) and the query string as a struct (`ApiQuery<T>`). Each rejection is the Defender
//! error body. A handler lists `Can<P>` first, so a caller without the permission gets 403 before any 400 about its
//! input (axum runs extractors in argument order).

use std::marker::PhantomData;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use chrono::Utc;
use ipscope_api::period::{parse_period, Period};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::auth::{Caller, Permission};
use crate::error::AppError;

/// A permission as a type, for `Can<P>`.
pub trait Needs {
    /// The permission.
    const PERMISSION: Permission;
}

/// `Ip.Read.All`.
pub struct IpRead;
/// `Alert.Read.All` or one of its forms.
pub struct AlertRead;
/// `Machine.Read.All` or one of its forms.
pub struct MachineRead;

impl Needs for IpRead {
    const PERMISSION: Permission = Permission::IpRead;
}
impl Needs for AlertRead {
    const PERMISSION: Permission = Permission::AlertRead;
}
impl Needs for MachineRead {
    const PERMISSION: Permission = Permission::MachineRead;
}

/// The caller, holding `P`'s permission (403 naming it otherwise).
pub struct Can<P>(pub Caller, pub PhantomData<P>);

impl<S: Send + Sync, P: Needs> FromRequestParts<S> for Can<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(P::PERMISSION)?;
        Ok(Can(caller, PhantomData))
    }
}

/// The one `{ip}` or `{id}` segment of the path, as given; a malformed one (bad percent-encoding) is a 400.
async fn segment(parts: &mut Parts) -> Result<String, AppError> {
    match Path::<String>::from_request_parts(parts, &()).await {
        Ok(Path(value)) => Ok(value),
        Err(e) => Err(AppError::BadRequest(format!("The path is malformed: {}", e.body_text()))),
    }
}

/// `{ip}` of the path, parsed strictly (a 400 `InvalidIp` saying why otherwise).
pub struct PathIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for PathIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let text = segment(parts).await?;
        ipscope_api::ip::parse_ip_strict(&text).map(PathIp).map_err(|e| AppError::InvalidIp(e.to_string()))
    }
}

/// Checks an entity id from the path: non-empty, printable, of sane length.
fn entity_id(text: String, what: &str) -> Result<String, AppError> {
    if text.is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!("'{text}' is not a valid {what} id.")));
    }
    Ok(text)
}

/// `{id}` of a `/machines/{id}` path: a machine id or computer name.
pub struct MachineId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for MachineId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        entity_id(segment(parts).await?, "machine").map(MachineId)
    }
}

/// `{id}` of an `/alerts/{id}` path.
pub struct AlertId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AlertId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        entity_id(segment(parts).await?, "alert").map(AlertId)
    }
}

/// A query string's shape: its parameters, all optional text, checked by the handler's helpers.
pub trait QueryParams: DeserializeOwned {
    /// The parameters it accepts, as the error for an unknown one lists them.
    const ACCEPTS: &'static [&'static str];
}

/// The query string as `T`. A malformed query string, a parameter `T` does not accept, or one given twice (which
/// one would count is a guess) is a 400 that says so.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: QueryParams> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let params = match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(params)) => params,
            Err(e) => return Err(AppError::BadRequest(format!("The query string is malformed: {}", e.body_text()))),
        };
        let mut object = serde_json::Map::new();
        for (key, value) in params {
            if !T::ACCEPTS.contains(&key.as_str()) {
                let known = if T::ACCEPTS.is_empty() { "none".to_string() } else { T::ACCEPTS.join(", ") };
                return Err(AppError::BadRequest(format!(
                    "Unknown query parameter '{key}'; this endpoint accepts: {known}."
                )));
            }
            if object.contains_key(&key) {
                return Err(AppError::BadRequest(format!("The query parameter '{key}' is given more than once.")));
            }
            object.insert(key, serde_json::Value::String(value));
        }
        serde_json::from_value(serde_json::Value::Object(object))
            .map(ApiQuery)
            .map_err(|e| AppError::BadRequest(format!("The query string does not fit this endpoint: {e}.")))
    }
}

/// No parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

impl QueryParams for NoQuery {
    const ACCEPTS: &'static [&'static str] = &[];
}

/// A period: `lookBackHours`, or `from` and `to` (`/ips/{ip}/prevalence`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeQuery {
    look_back_hours: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl QueryParams for RangeQuery {
    const ACCEPTS: &'static [&'static str] = &["lookBackHours", "from", "to"];
}

impl RangeQuery {
    /// The period (default: the last 30 days).
    pub fn period(&self) -> Result<Period, AppError> {
        period_of(self.look_back_hours.as_deref(), self.from.as_deref(), self.to.as_deref())
    }
}

/// A period and how many entities (`$top`): the lists (`/ips/{ip}/devices`, `/machines/{id}/connections`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    look_back_hours: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "$top")]
    top: Option<String>,
}

impl QueryParams for ListQuery {
    const ACCEPTS: &'static [&'static str] = &["lookBackHours", "from", "to", "$top"];
}

impl ListQuery {
    /// The period (default: the last 30 days).
    pub fn period(&self) -> Result<Period, AppError> {
        period_of(self.look_back_hours.as_deref(), self.from.as_deref(), self.to.as_deref())
    }

    /// `$top`, from 1 to `max` (`default` when not given).
    pub fn top(&self, default: usize, max: usize) -> Result<usize, AppError> {
        top(self.top.as_deref(), default, max)
    }
}

/// Defender's `lookBackHours` only (`/ips/{ip}/stats`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LookBackQuery {
    look_back_hours: Option<String>,
}

impl QueryParams for LookBackQuery {
    const ACCEPTS: &'static [&'static str] = &["lookBackHours"];
}

impl LookBackQuery {
    /// The period (default: the last 30 days).
    pub fn period(&self) -> Result<Period, AppError> {
        period_of(self.look_back_hours.as_deref(), None, None)
    }
}

/// Search suggestions: the start of an address and how many.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixQuery {
    /// The start of an address as typed.
    pub prefix: Option<String>,
    #[serde(rename = "$top")]
    top: Option<String>,
}

impl QueryParams for PrefixQuery {
    const ACCEPTS: &'static [&'static str] = &["prefix", "$top"];
}

impl PrefixQuery {
    /// `$top`, from 1 to `max` (`default` when not given).
    pub fn top(&self, default: usize, max: usize) -> Result<usize, AppError> {
        top(self.top.as_deref(), default, max)
    }
}

/// The period from `lookBackHours` or `from`/`to` (default: the last 30 days).
fn period_of(look_back_hours: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Period, AppError> {
    parse_period(look_back_hours, from, to, Utc::now()).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// `$top`: how many entities to return, from 1 to `max`.
fn top(value: Option<&str>, default: usize, max: usize) -> Result<usize, AppError> {
    match value {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(AppError::BadRequest(format!("$top must be a whole number from 1 to {max}; got '{v}'."))),
        },
    }
}
