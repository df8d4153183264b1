//! The client of the Framelift API (docs/API.md): one method per route the command line uses, errors carrying the
//! API's own message.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// A failure, in one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{message} (HTTP {status})")]
    Api { status: u16, message: String },
    #[error("cannot reach {0}: is the server running and the URL right? ({1})")]
    Unreachable(String, String),
    #[error("not signed in: run `framelift login --name NAME` (the local stack) or `framelift login --token-file FILE` (a deployment)")]
    NotSignedIn,
    #[error("{0}: sign in again with `framelift login`")]
    TokenRefused(String),
}

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    api: String,
    token: Option<String>,
}

impl Client {
    pub fn new(api: &str, token: Option<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(300)).build().expect("a TLS backend");
        Self { http, api: api.trim_end_matches('/').to_owned(), token }
    }

    pub async fn call<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.api);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| ClientError::Unreachable(self.api.clone(), e.to_string()))?;
        let status = res.status().as_u16();
        let text = res.text().await.map_err(|e| ClientError::Unreachable(self.api.clone(), e.to_string()))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("the server answered {status}"));
            return Err(match (status, &self.token) {
                (401, None) => ClientError::NotSignedIn,
                (401, Some(_)) => ClientError::TokenRefused(message),
                _ => ClientError::Api { status, message },
            });
        }
        serde_json::from_str(if text.is_empty() { "null" } else { &text })
            .map_err(|e| ClientError::Api { status, message: format!("unexpected answer: {e}") })
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn dev_token(&self, name: &str) -> Result<String, ClientError> {
        let v: Value = self.call(reqwest::Method::POST, "/dev/token", Some(json!({"name": name}))).await?;
        Ok(v["token"].as_str().unwrap_or_default().to_owned())
    }
}
