//! Configuration from the environment, checked once at cold start: anything missing is named.

use chalet_types::SiteUrl;
use std::collections::BTreeMap;

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    pub stripe_secret_key: String,
    pub stripe_webhook_secret: String,
    /// The shop's address (`https://marche.example/` or with a sub-path): its origin is the only
    /// CORS origin, and Stripe's success and cancel URLs are built on it (`chalet_types::routes`).
    pub site_url: SiteUrl,
    /// A local Stripe stand-in (`http://127.0.0.1:12111`); real Stripe when absent.
    pub stripe_api_base: Option<String>,
}

// Never print secrets, even in debug output.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("site_url", &self.site_url)
            .field("stripe_api_base", &self.stripe_api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable(s): {}", .0.join(", "))]
    Missing(Vec<&'static str>),
    #[error("{0} must be an absolute http(s) URL")]
    NotAUrl(&'static str),
    #[error("SITE_URL is not a usable site address: {0}")]
    SiteUrl(#[source] chalet_types::routes::SiteUrlError),
    #[error("cannot read a secret from the parameter store: {0}")]
    Parameter(String),
}

pub const REQUIRED: [&str; 4] = ["TABLE_NAME", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SITE_URL"];

impl Config {
    /// Reads from any key/value source (the process environment in `main`).
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let missing: Vec<&'static str> = REQUIRED.iter().copied().filter(|k| get(k).is_none()).collect();
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        let url = |k: &'static str, v: String| {
            if v.starts_with("https://") || v.starts_with("http://") {
                Ok(v.trim_end_matches('/').to_string())
            } else {
                Err(ConfigError::NotAUrl(k))
            }
        };
        Ok(Config {
            table_name: get("TABLE_NAME").unwrap_or_default(),
            stripe_secret_key: get("STRIPE_SECRET_KEY").unwrap_or_default(),
            stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET").unwrap_or_default(),
            site_url: SiteUrl::parse(&get("SITE_URL").unwrap_or_default()).map_err(ConfigError::SiteUrl)?,
            stripe_api_base: get("STRIPE_API_BASE").map(|v| url("STRIPE_API_BASE", v)).transpose()?,
        })
    }

    /// The environment, with secrets named by `<VAR>_PARAMETER` (SSM SecureStrings) fetched first:
    /// in production the template never puts a secret in the function's environment.
    pub async fn from_env_and_parameters() -> Result<Config, ConfigError> {
        let mut vars: BTreeMap<String, String> = std::env::vars().collect();
        for secret in SECRETS {
            if vars.get(secret).is_none_or(|v| v.is_empty())
                && let Some(name) = vars.get(&format!("{secret}_PARAMETER")).cloned()
            {
                let value = parameter(&name, vars.get("AWS_SESSION_TOKEN").map(String::as_str).unwrap_or(""))
                    .await
                    .map_err(ConfigError::Parameter)?;
                vars.insert(secret.to_string(), value);
            }
        }
        Config::from_vars(&vars)
    }
}

/// Secrets that may come from the parameter store instead of the environment.
pub const SECRETS: [&str; 2] = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"];

/// Reads a SecureString through the AWS Parameters and Secrets Lambda Extension, which listens on
/// loopback port 2773 inside the Lambda environment (plain HTTP; no SDK needed).
async fn parameter(name: &str, token: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", 2773))
        .await
        .map_err(|e| format!("parameters extension: {e}"))?;
    let request = format!(
        "GET /systemsmanager/parameters/get?name={encoded}&withDecryption=true HTTP/1.1\r\nHost: localhost\r\nX-Aws-Parameters-Secrets-Token: {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("parameters extension: malformed answer")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("parameter {name}: {}", head.lines().next().unwrap_or("")));
    }
    let json: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("parameter {name}: {e}"))?;
    json["Parameter"]["Value"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("parameter {name} has no value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_everything_missing() {
        let vars = BTreeMap::from([("TABLE_NAME".to_string(), "t".to_string())]);
        let err = Config::from_vars(&vars).expect_err("incomplete");
        assert_eq!(
            err.to_string(),
            "missing environment variable(s): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, SITE_URL"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let vars: BTreeMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_y"),
            ("SITE_URL", "https://m.example/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = Config::from_vars(&vars).expect("complete");
        assert_eq!(c.site_url.as_str(), "https://m.example/");
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk_live") && !shown.contains("whsec"), "{shown}");
    }
}
