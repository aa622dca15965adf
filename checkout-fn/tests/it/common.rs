//! The integration harness: real peers on loopback, started by `scripts/test` —
//! DynamoDB Local (`CHALET_TEST_DYNAMODB`) and the Stripe stand-in (`CHALET_TEST_STRIPE`).
//! Each test gets its own table, the example market's catalogue, and the function's router on
//! a free port, which the stand-in delivers signed webhooks to.

use chalet_types::Catalogue;
use checkout_fn::config::Config;
use checkout_fn::dynamo::Dynamo;
use checkout_fn::payments::Stripe;
use checkout_fn::{AppState, app};
use serde_json::{Value, json};
use std::path::Path;

pub const STRIPE_KEY: &str = "sk_test_chalet_standin";
pub const WEBHOOK_SECRET: &str = "whsec_chalet_standin";
pub const CODES_KEY: &str = "vck_chalet_tests_0123456789abcdef0123";
pub const SITE: &str = "http://127.0.0.1:1225";
pub const APPLICATIONS_BUCKET: &str = "chalet-test-applications";
pub const LINKS_KEY: &str = "lk_chalet_tests_0123456789abcdef012345";

// Products of the committed catalogue fixture the tests count on.
/// Sold by [`CHALET`]; 14.90, 12 in stock, ships for 5.90 below 60.
pub const CANDLE: &str = "la-cire-d-outremeuse/bougie-sapin-des-fagnes";
/// A soap maker who ships as well as hands over, and one of its soaps.
pub const SOAPS: &str = "savonnerie-du-pont-d-avroy";
pub const SOAP: &str = "savonnerie-du-pont-d-avroy/savon-au-lait-d-anesse";
pub const CHALET: &str = "la-cire-d-outremeuse";
/// A voucher, 55.00, made to order.
pub const MENU: &str = "la-table-du-carre/menu-boulets-pour-deux";
/// A voucher, 50.00, made to order.
pub const BON: &str = "la-table-du-carre/bon-cadeau-50-euros";

/// The catalogue with `sku` limited to `stock` units.
pub fn with_stock(mut cat: Catalogue, sku: &str, stock: u32) -> Catalogue {
    let item = cat
        .items
        .iter_mut()
        .find(|i| i.sku.to_string() == sku)
        .expect("sku in catalogue");
    item.stock = chalet_types::Stock::Limited(stock);
    cat
}

/// A basket of `quantity` candles, picked up.
pub fn candles(quantity: i64) -> Value {
    json!({ "items": [{ "sku": CANDLE, "quantity": quantity }], "fulfilment": { CHALET: "pickup" }, "locale": "fr" })
}

pub fn peer(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the integration tests through scripts/test, which starts DynamoDB Local and the Stripe stand-in"))
}

/// The catalogue the tests sell from: `tests/fixtures/catalogue.json`, committed (what
/// `chalet build` wrote for the example market when it was taken), so that editing the example
/// market never changes the stock numbers the tests count on.
pub fn example_catalogue() -> Catalogue {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalogue.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("a catalogue")
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(peer("CHALET_TEST_DYNAMODB"))
        .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "chalet-tests",
        ));
    // Production's deadlines are for DynamoDB; Local under a 200-shopper herd needs longer (the
    // test of a table that stops answering uses production's).
    let (attempt, operation) = (std::time::Duration::from_secs(15), std::time::Duration::from_secs(30));
    aws_sdk_dynamodb::Client::from_conf(checkout_fn::dynamo::with_deadlines_of(builder, attempt, operation))
}

/// The shop's sender in the tests.
pub const MAIL_FROM: &str = "Marché de Noël <commandes@marche.example>";

/// The local SMTP server `scripts/test` starts (aiosmtpd, `CHALET_TEST_SMTP`), when there is one.
pub fn mailer() -> Option<checkout_fn::mail::Mailer> {
    let url = std::env::var("CHALET_TEST_SMTP").ok()?;
    Some(checkout_fn::mail::Mailer::new(&url, MAIL_FROM).expect("a usable SMTP_URL"))
}

/// A chalet's private link's token, under the tests' `LINKS_KEY`.
pub fn token(chalet: &str) -> String {
    checkout_fn::links::token(LINKS_KEY, &chalet_types::Slug::parse(chalet).expect("slug"))
}

/// [`mailbox`], once `count` messages have arrived (or six seconds have passed).
pub async fn arrived(to: &str, count: usize) -> Vec<String> {
    for _ in 0..60 {
        let mails = mailbox(to);
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    mailbox(to)
}

/// The messages the local SMTP server received for `to` (its Maildir, `CHALET_TEST_MAILDIR`),
/// oldest first, quoted-printable decoded (how the function sends its parts).
pub fn mailbox(to: &str) -> Vec<String> {
    let dir = std::path::PathBuf::from(peer("CHALET_TEST_MAILDIR")).join("new");
    let mut found: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    let to_line = text.lines().any(|l| l == format!("X-RcptTo: {to}"));
                    let when = e.metadata().and_then(|m| m.modified()).ok()?;
                    to_line.then_some((when, text))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, t)| quoted_printable(&t)).collect()
}

/// RFC 2045 quoted-printable, decoded: soft line breaks joined, `=XX` turned into bytes.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The function's router on a free port: its address.
pub async fn serve(db: &Dynamo, stripe_base: &str, mail: Option<checkout_fn::mail::Mailer>) -> String {
    let config = Config {
        table_name: db.table.clone(),
        stripe_secret_key: STRIPE_KEY.into(),
        stripe_webhook_secret: WEBHOOK_SECRET.into(),
        voucher_codes_key: CODES_KEY.into(),
        site_url: chalet_types::SiteUrl::parse(SITE).expect("a site URL"),
        stripe_api_base: Some(stripe_base.to_string()),
        origin_verify_secrets: Vec::new(),
        mail,
        // The applications bucket on the local S3-compatible server (moto), when it runs.
        uploads: std::env::var("CHALET_TEST_S3")
            .ok()
            .map(|endpoint| checkout_fn::uploads::Uploads {
                bucket: APPLICATIONS_BUCKET.into(),
                region: "eu-west-1".into(),
                endpoint: Some(endpoint),
            }),
        links_key: Some(LINKS_KEY.into()),
        retention_days: checkout_fn::purge::DEFAULT_RETENTION_DAYS,
    };
    let stripe = Stripe::new(STRIPE_KEY, Some(stripe_base)).expect("stripe client");
    let router = app(AppState::new(config, db.clone(), stripe));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

pub struct Harness {
    pub base: String,
    pub stripe: String,
    pub db: Dynamo,
    pub http: reqwest::Client,
}

fn unique(prefix: &str) -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("random");
    format!("{prefix}-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

impl Harness {
    /// A fresh table with `catalogue` published, and the function listening.
    pub async fn start(catalogue: &Catalogue) -> Harness {
        Harness::start_with_stripe(catalogue, peer("CHALET_TEST_STRIPE")).await
    }

    pub async fn start_with_stripe(catalogue: &Catalogue, stripe_base: String) -> Harness {
        // `RUST_LOG=error cargo test …` shows the function's logs beside a failing test.
        static LOGS: std::sync::Once = std::sync::Once::new();
        LOGS.call_once(|| {
            if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_test_writer()
                    .try_init();
            }
        });
        let table = unique("chalet-test");
        let db = Dynamo::new(dynamo_client().await, &table);
        assert!(checkout_fn::publish::create_table(&db).await.expect("create table"));
        checkout_fn::publish::publish(&db, catalogue).await.expect("publish");
        let base = serve(&db, &stripe_base, mailer()).await;
        Harness {
            base,
            stripe: stripe_base,
            db,
            http: reqwest::Client::new(),
        }
    }

    /// Another instance of the function on this harness's table and stand-in, sending mail
    /// through `smtp_url`: its address.
    pub async fn start_with_mail(h: &Harness, smtp_url: &str) -> String {
        let mail = checkout_fn::mail::Mailer::new(smtp_url, MAIL_FROM).expect("an SMTP URL");
        serve(&h.db, &h.stripe, Some(mail)).await
    }

    /// A fresh table and function talking to a stand-in of its own, whose faults and
    /// deliveries the test may change without disturbing tests running beside it.
    pub async fn start_private(catalogue: &Catalogue) -> Harness {
        Harness::start_with_stripe(catalogue, private_standin().await).await
    }

    /// A private harness whose stand-in delivers every event to the function.
    pub async fn start_delivering(catalogue: &Catalogue) -> Harness {
        let h = Harness::start_private(catalogue).await;
        h.control("webhooks", &json!({ "url": format!("{}/webhook", h.base) }))
            .await;
        h
    }

    /// Checks out `body`, pays at the stand-in (event delivered) and returns the recorded order.
    pub async fn paid_order(&self, body: Value) -> chalet_types::Order {
        let (status, created) = self.post_json("/checkout", &body).await;
        assert_eq!(status, 200, "{created}");
        let session = created["id"].as_str().expect("id").to_string();
        let r = self
            .control(&format!("checkout/sessions/{session}/pay"), &json!({}))
            .await;
        assert_eq!(r["delivered"], 200, "{r}");
        self.db.order(&session).await.expect("read").expect("recorded")
    }

    /// POSTs a control request to this harness's stand-in.
    pub async fn control(&self, path: &str, body: &Value) -> Value {
        json_of(self.http.post(format!("{}/__control/{path}", self.stripe)).json(body)).await
    }

    /// A session as the stand-in holds it, read through Stripe's API.
    pub async fn stripe_session(&self, id: &str) -> Value {
        json_of(
            self.http
                .get(format!("{}/v1/checkout/sessions/{id}", self.stripe))
                .bearer_auth(STRIPE_KEY),
        )
        .await
    }

    /// Every call the stand-in received.
    pub async fn stripe_calls(&self) -> Vec<Value> {
        let calls = json_of(self.http.get(format!("{}/__control/requests", self.stripe))).await;
        calls.as_array().cloned().unwrap_or_default()
    }

    /// Every event the stand-in made (`id`, `type`), oldest first.
    pub async fn stripe_events(&self) -> Vec<Value> {
        let events = json_of(self.http.get(format!("{}/__control/events", self.stripe))).await;
        events.as_array().cloned().unwrap_or_default()
    }

    /// The environment the `checkout-fn` binary needs for this harness's table and stand-in.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("TABLE_NAME", self.db.table.clone()),
            ("STRIPE_SECRET_KEY", STRIPE_KEY.into()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("VOUCHER_CODES_KEY", CODES_KEY.into()),
            ("LINKS_KEY", LINKS_KEY.into()),
            ("SITE_URL", SITE.into()),
            ("STRIPE_API_BASE", self.stripe.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", peer("CHALET_TEST_DYNAMODB")),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ];
        if let Ok(smtp) = std::env::var("CHALET_TEST_SMTP") {
            env.extend([("SMTP_URL", smtp), ("MAIL_FROM", MAIL_FROM.into())]);
        }
        if let Ok(s3) = std::env::var("CHALET_TEST_S3") {
            env.extend([("S3_ENDPOINT", s3), ("APPLICATIONS_BUCKET", APPLICATIONS_BUCKET.into())]);
        }
        env
    }

    /// Runs the `checkout-fn` binary against this harness's table and stand-in.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_checkout-fn"))
            .args(args)
            .env_clear()
            .envs(self.function_env())
            .output()
            .expect("checkout-fn runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Pays (or expires) a session at the stand-in, which delivers the signed event to us.
    /// Returns the event and the status our webhook answered.
    pub async fn stripe_control(&self, session: &str, action: &str) -> (Value, Value) {
        self.stripe_control_to(session, action, &format!("{}/webhook", self.base))
            .await
    }

    /// The same, delivering the event to `webhook_url` instead of this function.
    pub async fn stripe_control_to(&self, session: &str, action: &str, webhook_url: &str) -> (Value, Value) {
        let r: Value = self
            .http
            .post(format!(
                "{}/__control/checkout/sessions/{session}/{action}",
                self.stripe
            ))
            .json(&json!({ "webhook_url": webhook_url, "email": "client@example.org" }))
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("json");
        (r["event"].clone(), r["delivered"].clone())
    }

    /// Delivers an event body with a signature made for it (or not).
    pub async fn deliver(&self, body: &[u8], signature: &str) -> u16 {
        self.http
            .post(format!("{}/webhook", self.base))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("deliver")
            .status()
            .as_u16()
    }

    pub async fn remaining(&self, chalet: &str, sku: &str) -> Value {
        let (status, body) = self.get(&format!("/availability?chalet={chalet}")).await;
        assert_eq!(status, 200, "{body}");
        body["remaining"][sku].clone()
    }

    /// The form parameters the stand-in received for the call that created `session`.
    pub async fn create_params(&self, session: &str) -> Vec<(String, String)> {
        let url = format!("{}/__control/requests", self.stripe);
        let calls: Value = self
            .http
            .get(url)
            .send()
            .await
            .expect("requests")
            .json()
            .await
            .expect("json");
        calls
            .as_array()
            .and_then(|calls| calls.iter().find(|r| r["session"] == json!(session)))
            .and_then(|r| serde_json::from_value(r["params"].clone()).ok())
            .expect("the create call for this session")
    }
}

/// Sends a request and reads its JSON answer (any status).
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a JSON answer")
}

/// A stand-in of the test's own (the same code `scripts/test` starts), on a free port.
pub async fn private_standin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let standin = stripe_standin::StandIn::new(stripe_standin::Config {
        api_key: STRIPE_KEY.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        webhook_url: None,
        base_url: base.clone(),
    });
    standin.spawn_expiry();
    tokio::spawn(async move { axum::serve(listener, standin.router()).await });
    base
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
