//! The only module that talks HTTP: one small function per endpoint, every failure a typed `ApiError`.

use std::net::IpAddr;

use gloo_net::http::{Request, Response};
use ipscope_api::wire::{Alert, Collection, ErrorResponse, IpStats};
use serde::de::DeserializeOwned;

use crate::config::{use_config, ConfigFile};

/// Why a request failed, in terms the page can explain to an analyst.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The request was refused as invalid (400); the server's message says what to fix.
    #[error("{0}")]
    InvalidInput(String),
    /// The thing asked about does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// Too many requests (429); the server asks to wait `retry_after` seconds.
    #[error("The server is rate limiting requests; try again in {retry_after} s.")]
    RateLimited {
        /// Seconds to wait, from `Retry-After`.
        retry_after: u32,
    },
    /// No answer at all: offline, wrong API address, server down, or blocked by CORS.
    #[error("The server could not be reached ({0}). Check the connection and the configured API address.")]
    Unreachable(String),
    /// The server answered with an error of its own.
    #[error("The server failed (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message, if it sent one.
        message: String,
    },
    /// The answer was not the JSON expected.
    #[error("The server's answer could not be read: {0}")]
    Decode(String),
}

/// The API client: the base URL from the configuration. Cheap to clone into resources.
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    base: String,
}

/// The API client for the configured base URL.
pub fn use_api() -> Api {
    Api { base: use_config().api_base }
}

impl Api {
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let url = format!("{}{}", self.base, path);
        let response = Request::get(&url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| ApiError::Unreachable(e.to_string()))?;
        if response.ok() {
            return response.json::<T>().await.map_err(|e| ApiError::Decode(e.to_string()));
        }
        Err(error_from(response).await)
    }

    /// `GET ips/{ip}/alerts`: alerts whose evidence names the IP.
    pub async fn ip_alerts(&self, ip: IpAddr) -> Result<Vec<Alert>, ApiError> {
        self.get_json::<Collection<Alert>>(&format!("ips/{ip}/alerts")).await.map(|c| c.value)
    }

    /// `GET ips/{ip}/stats?lookBackHours=N`: prevalence over the last `hours`.
    pub async fn ip_stats(&self, ip: IpAddr, hours: u32) -> Result<IpStats, ApiError> {
        self.get_json(&format!("ips/{ip}/stats?lookBackHours={hours}")).await
    }
}

async fn error_from(response: Response) -> ApiError {
    let status = response.status();
    let retry_after = response.headers().get("Retry-After").and_then(|v| v.trim().parse::<u32>().ok());
    let message = match response.text().await {
        Ok(text) => match serde_json::from_str::<ErrorResponse>(&text) {
            Ok(body) => body.error.message,
            Err(_) => text.chars().take(200).collect(),
        },
        Err(e) => e.to_string(),
    };
    match status {
        400 => ApiError::InvalidInput(message),
        404 => ApiError::NotFound(message),
        429 => ApiError::RateLimited { retry_after: retry_after.unwrap_or(60) },
        _ => ApiError::Server { status, message },
    }
}

/// Fetches `config.json` next to `index.html`: `Ok(None)` when there is none.
pub async fn fetch_config_file() -> Result<Option<ConfigFile>, ApiError> {
    let response = Request::get("config.json")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiError::Unreachable(e.to_string()))?;
    match response.status() {
        200 => response.json::<ConfigFile>().await.map(Some).map_err(|e| ApiError::Decode(e.to_string())),
        404 => Ok(None),
        _ => Err(error_from(response).await),
    }
}
