//! Configuration from the environment, checked once at cold start: anything missing is named.

use chalet_types::SiteUrl;
use std::collections::BTreeMap;

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    pub stripe_secret_key: String,
    pub stripe_webhook_secret: String,
    /// The key voucher codes are derived from: a secret of its own, so rotating the webhook
    /// secret never mints a second set of valid codes. At least 32 characters.
    pub voucher_codes_key: String,
    /// The shop's address (`https://marche.example/` or with a sub-path): its origin is the only
    /// CORS origin, and Stripe's success and cancel URLs are built on it (`chalet_types::routes`).
    pub site_url: SiteUrl,
    /// A local Stripe stand-in (`http://127.0.0.1:12111`); real Stripe when absent.
    pub stripe_api_base: Option<String>,
    /// Values CloudFront sends in `X-Origin-Verify` (two during a rotation); empty: no check,
    /// for local development.
    pub origin_verify_secrets: Vec<String>,
    /// Where receipts are sent from (`SMTP_URL` and `MAIL_FROM`); none: no e-mail, and a
    /// warning at start.
    pub mail: Option<crate::mail::Mailer>,
    /// Where artisans' application zips are uploaded (`APPLICATIONS_BUCKET`, in `AWS_REGION`;
    /// `S3_ENDPOINT` for a local S3-compatible server); none: `POST /applications` answers 503.
    pub uploads: Option<crate::uploads::Uploads>,
    /// The key of artisans' private links to their orders (`crate::links`); changing it revokes
    /// every link. None: the links answer 503. At least 32 characters.
    pub links_key: Option<String>,
    /// Days after an order's day its shopper's personal data is erased (`RETENTION_DAYS`,
    /// default 400; `crate::purge`).
    pub retention_days: i64,
}

// Never print secrets, even in debug output.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("site_url", &self.site_url)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("origin_verify_secrets", &self.origin_verify_secrets.len())
            .field("mail", &self.mail)
            .field("uploads", &self.uploads)
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
    #[error("ORIGIN_VERIFY_SECRETS: each value must be at least 32 characters")]
    WeakOriginSecret,
    #[error("VOUCHER_CODES_KEY must be at least 32 characters (a random secret of its own)")]
    WeakCodesKey,
    #[error("{0}")]
    Mail(#[from] crate::mail::MailSetupError),
    #[error("RETENTION_DAYS must be a number of days from 30 to 3650")]
    RetentionDays,
    #[error("LINKS_KEY must be at least 32 characters")]
    WeakLinksKey,
    #[error("SMTP_URL and MAIL_FROM go together: set both to send receipts, or neither")]
    HalfMail,
}

pub const REQUIRED: [&str; 5] = [
    "TABLE_NAME",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "VOUCHER_CODES_KEY",
    "SITE_URL",
];

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
        let voucher_codes_key = get("VOUCHER_CODES_KEY").unwrap_or_default();
        if voucher_codes_key.len() < MIN_ORIGIN_SECRET {
            return Err(ConfigError::WeakCodesKey);
        }
        Ok(Config {
            table_name: get("TABLE_NAME").unwrap_or_default(),
            stripe_secret_key: get("STRIPE_SECRET_KEY").unwrap_or_default(),
            stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET").unwrap_or_default(),
            voucher_codes_key,
            site_url: SiteUrl::parse(&get("SITE_URL").unwrap_or_default()).map_err(ConfigError::SiteUrl)?,
            stripe_api_base: get("STRIPE_API_BASE").map(|v| url("STRIPE_API_BASE", v)).transpose()?,
            origin_verify_secrets: origin_secrets(get("ORIGIN_VERIFY_SECRETS").as_deref())?,
            mail: match (get("SMTP_URL"), get("MAIL_FROM")) {
                (Some(url), Some(from)) => Some(crate::mail::Mailer::new(&url, &from)?),
                (None, None) => None,
                _ => return Err(ConfigError::HalfMail),
            },
            uploads: match get("APPLICATIONS_BUCKET") {
                Some(bucket) => Some(crate::uploads::Uploads {
                    bucket,
                    // Lambda always sets AWS_REGION; locally the SDK's own default region.
                    region: get("AWS_REGION").unwrap_or_else(|| "eu-west-1".into()),
                    endpoint: get("S3_ENDPOINT").map(|v| url("S3_ENDPOINT", v)).transpose()?,
                }),
                None => None,
            },
            retention_days: match get("RETENTION_DAYS") {
                None => crate::purge::DEFAULT_RETENTION_DAYS,
                Some(d) => d
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (30..=3650).contains(d))
                    .ok_or(ConfigError::RetentionDays)?,
            },
            links_key: match get("LINKS_KEY") {
                Some(k) if k.len() < MIN_ORIGIN_SECRET => return Err(ConfigError::WeakLinksKey),
                other => other,
            },
        })
    }

    /// The environment, with secrets named by `<VAR>_PARAMETER` (SSM SecureStrings) read first
    /// with the AWS SDK (`GetParameters`, `WithDecryption`), in one call, at cold start: in
    /// production the template never puts a secret in the function's environment. The Parameters
    /// and Secrets extension is not used: it may be called during INVOKE only, not INIT ("Using
    /// Parameter Store parameters in Lambda functions", AWS Systems Manager guide).
    /// Returns where the webhook secret came from, so a changed secret can be re-read.
    pub async fn from_env_and_parameters() -> Result<(Config, Option<SecretSource>), ConfigError> {
        let mut vars: BTreeMap<String, String> = std::env::vars().collect();
        let wanted: Vec<(&str, String)> = SECRETS
            .iter()
            .filter(|s| vars.get(**s).is_none_or(|v| v.trim().is_empty()))
            .filter_map(|s| Some((*s, vars.get(&format!("{s}_PARAMETER"))?.clone())))
            .collect();
        if wanted.is_empty() {
            return Ok((Config::from_vars(&vars)?, None));
        }
        let aws = aws_config::load_from_env().await;
        let source = SecretSource {
            client: aws_sdk_ssm::Client::new(&aws),
            webhook_parameter: wanted
                .iter()
                .find(|(s, _)| *s == "STRIPE_WEBHOOK_SECRET")
                .map(|(_, p)| p.clone()),
        };
        let names: Vec<String> = wanted.iter().map(|(_, p)| p.clone()).collect();
        let values = source.read(&names).await?;
        for (secret, parameter) in &wanted {
            let value = values
                .get(parameter)
                .ok_or_else(|| ConfigError::Parameter(format!("parameter {parameter} does not exist")))?;
            vars.insert((*secret).to_string(), value.clone());
        }
        Ok((Config::from_vars(&vars)?, Some(source)))
    }
}

/// Secrets that may come from the parameter store instead of the environment.
/// `SMTP_URL` holds the SMTP password.
pub const SECRETS: [&str; 5] = [
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "VOUCHER_CODES_KEY",
    "SMTP_URL",
    "LINKS_KEY",
];

/// Settings the function reads when they are there.
pub const OPTIONAL: [&str; 9] = [
    "STRIPE_API_BASE",
    "ORIGIN_VERIFY_SECRETS",
    "SMTP_URL",
    "MAIL_FROM",
    "APPLICATIONS_BUCKET",
    "AWS_REGION",
    "S3_ENDPOINT",
    "LINKS_KEY",
    "RETENTION_DAYS",
];

/// The shortest origin secret (and voucher codes key) accepted: the origin secret is all that
/// stands between the function URL and the internet.
pub const MIN_ORIGIN_SECRET: usize = 32;

fn origin_secrets(text: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let secrets: Vec<String> = text
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if secrets.iter().any(|s| s.len() < MIN_ORIGIN_SECRET) {
        return Err(ConfigError::WeakOriginSecret);
    }
    Ok(secrets)
}

/// The parameter store the secrets came from.
#[derive(Clone, Debug)]
pub struct SecretSource {
    client: aws_sdk_ssm::Client,
    /// The webhook secret's parameter, when it came from the store.
    pub webhook_parameter: Option<String>,
}

impl SecretSource {
    pub fn new(client: aws_sdk_ssm::Client, webhook_parameter: Option<String>) -> SecretSource {
        SecretSource {
            client,
            webhook_parameter,
        }
    }

    /// Name → decrypted value, for the parameters that exist.
    pub async fn read(&self, names: &[String]) -> Result<BTreeMap<String, String>, ConfigError> {
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ConfigError::Parameter(aws_sdk_ssm::error::DisplayErrorContext(e).to_string()))?;
        Ok(out
            .parameters()
            .iter()
            .filter_map(|p| Some((p.name()?.to_string(), p.value()?.to_string())))
            .collect())
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
            "missing environment variable(s): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, VOUCHER_CODES_KEY, SITE_URL"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let vars: BTreeMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_y"),
            ("VOUCHER_CODES_KEY", "vck_0123456789abcdef0123456789abcdef"),
            ("SITE_URL", "https://m.example/"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = Config::from_vars(&vars).expect("complete");
        assert_eq!(c.site_url.as_str(), "https://m.example/");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("sk_live") && !shown.contains("whsec") && !shown.contains("vck_"),
            "{shown}"
        );
        let mut short = vars.clone();
        short.insert("VOUCHER_CODES_KEY".into(), "too-short".into());
        assert_eq!(Config::from_vars(&short).err(), Some(ConfigError::WeakCodesKey));
        let mut mail = vars.clone();
        mail.insert(
            "SMTP_URL".into(),
            "smtps://user:p4ssw0rd@email-smtp.eu-west-1.amazonaws.com".into(),
        );
        assert_eq!(Config::from_vars(&mail).err(), Some(ConfigError::HalfMail));
        mail.insert("MAIL_FROM".into(), "Marché <noreply@m.example>".into());
        let c = Config::from_vars(&mail).expect("mail settings");
        assert!(c.mail.is_some());
        assert!(!format!("{c:?}").contains("p4ssw0rd"));
    }
}
