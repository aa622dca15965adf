//! Configuration from the environment, checked once at cold start: anything missing is named.

use std::collections::BTreeMap;

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    pub stripe_secret_key: String,
    pub stripe_webhook_secret: String,
    /// The shop's origin (`https://marche.example`): the only CORS origin, and the base of the
    /// success and cancel URLs.
    pub site_url: String,
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
            site_url: url("SITE_URL", get("SITE_URL").unwrap_or_default())?,
            stripe_api_base: get("STRIPE_API_BASE").map(|v| url("STRIPE_API_BASE", v)).transpose()?,
        })
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(&std::env::vars().collect())
    }
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
        assert_eq!(c.site_url, "https://m.example");
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk_live") && !shown.contains("whsec"), "{shown}");
    }
}
