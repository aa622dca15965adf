//! `checkout-fn`: under Lambda when `AWS_LAMBDA_RUNTIME_API` is set; otherwise
//!   checkout-fn --listen 127.0.0.1:9000                    serve the same router over HTTP
//!   checkout-fn publish --catalogue dist/catalogue.json [--create-table]
//!   checkout-fn registrations                              list paid registrations
//!   checkout-fn applications [--status submitted|paid]     list artisans' applications (JSON lines)
//!   checkout-fn applications --fetch ID [--out DIR] [--unpaid]   download one's zip, checked
//!                                                           against its recorded SHA-256
//!   checkout-fn links --catalogue dist/catalogue.json      each chalet's private links: its page
//!                                                           (/atelier/#…) and its orders' CSV
//!   checkout-fn orders [--chalet SLUG] [--since DATE] [--format csv|json]   every line sold
//!   checkout-fn statements --from DATE --to DATE [--format csv|json|html]   what each chalet is owed
//!   checkout-fn transfers [--dry-run]                      pay chalets' connected accounts their shares
//!   checkout-fn digest [--date DAY] [--dry-run]            e-mail each chalet that asked for it the
//!                                                           orders of DAY (default: yesterday, UTC)
//!   checkout-fn purge [--dry-run] [--days N]               erase old orders' personal data
//!   checkout-fn reconcile [--dry-run] [--older-than 5m]    settle stock held for unreported sessions
//!   checkout-fn refund <order> [--line SKU[:QTY]]… [--restock]   refund through Stripe
//! Configuration comes from the environment (see `config`).

use checkout_fn::{AppState, app, config::Config, dynamo::Dynamo, payments::Stripe};
use std::process::ExitCode;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

async fn dynamo(table: &str) -> Dynamo {
    let config = aws_config::load_from_env().await;
    Dynamo::new(checkout_fn::dynamo::client(&config), table)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .without_time()
        // Standard error: the CLI's answers (reconcile, refund…) stay alone on standard output,
        // and Lambda sends both streams to CloudWatch.
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("publish") => publish(&args).await,
        Some("registrations") => registrations().await,
        Some("applications") => applications(&args).await,
        Some("links") => links(&args),
        Some("orders") => orders(&args).await,
        Some("statements") => statements(&args).await,
        Some("transfers") => transfers(&args).await,
        Some("digest") => digest(&args).await,
        Some("purge") => purge(&args).await,
        Some("reconcile") => reconcile(&args).await,
        Some("refund") => refund(&args).await,
        _ => serve(&args).await,
    }
}

/// Everything the handlers share, from the environment; `Err` is the exit code after saying why.
async fn state() -> Result<AppState, ExitCode> {
    let (config, source) = match Config::from_env_and_parameters().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            // Under Lambda, say so through the Runtime API, so the failed INIT shows the reason.
            if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
                && let Err(report) = init_error(&api, &e.to_string()).await
            {
                eprintln!("checkout-fn: could not report the init error: {report}");
            }
            return Err(ExitCode::from(2));
        }
    };
    let stripe = match Stripe::new(&config.stripe_secret_key, config.stripe_api_base.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            return Err(ExitCode::from(2));
        }
    };
    match &config.mail {
        Some(m) => tracing::info!(server = m.server(), "receipts are sent by SMTP"),
        None => tracing::warn!("no SMTP_URL and MAIL_FROM: shoppers get no receipt by e-mail"),
    }
    let store = dynamo(&config.table_name).await;
    Ok(AppState::with_source(config, store, stripe, source))
}

async fn reconcile(args: &[String]) -> ExitCode {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let older_than = match arg(args, "--older-than") {
        None => checkout_fn::reconcile::default_older_than(),
        Some(text) => match checkout_fn::reconcile::parse_duration(&text) {
            Some(d) => d,
            None => {
                eprintln!("checkout-fn: --older-than takes a duration such as 0s, 90s, 5m or 2h (got {text:?})");
                return ExitCode::from(2);
            }
        },
    };
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match checkout_fn::reconcile::reconcile(&state, older_than, dry_run).await {
        Ok(report) => {
            print!("{}", report.render(dry_run));
            if report.failures() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("checkout-fn: {}", checkout_fn::error::chain(&e));
            ExitCode::from(1)
        }
    }
}

/// Asks Stripe for the refund; the `charge.refunded` event records it (codes voided, stock back),
/// exactly as for a refund made in the Stripe dashboard.
async fn refund(args: &[String]) -> ExitCode {
    let Some(order_id) = args.get(2).filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: checkout-fn refund <order (cs_…)> [--line SKU[:QTY]]… [--restock]");
        return ExitCode::from(2);
    };
    let mut wanted = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if a == "--line" {
            let spec = args.get(i + 1).map(String::as_str).unwrap_or("");
            match checkout_fn::aftercare::parse_lines(spec).as_slice() {
                [one] => wanted.push(one.clone()),
                _ => {
                    eprintln!("checkout-fn: --line takes one chalet/product[:quantity] (got {spec:?})");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let restock = args.iter().any(|a| a == "--restock");
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let order = match state.store.order(order_id).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            eprintln!("checkout-fn: no order {order_id}");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("checkout-fn: {}", checkout_fn::error::chain(&e));
            return ExitCode::from(1);
        }
    };
    let Some(payment_intent) = order.payment_intent.clone() else {
        eprintln!("checkout-fn: order {order_id} has no payment to refund");
        return ExitCode::from(1);
    };
    let (amount, metadata) = match checkout_fn::aftercare::refund_request(&order, &wanted, restock) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            return ExitCode::from(2);
        }
    };
    // The same request twice (a double Enter) is one refund: the key is the request itself.
    let key = {
        use sha2::Digest;
        let spec = format!(
            "{order_id}|{}|{:?}|{}",
            order.refunds.len(),
            amount,
            metadata.get("lines").map_or("", |s| s)
        );
        let digest = sha2::Sha256::digest(format!("{spec}|{restock}").as_bytes());
        format!("refund-{}", chalet_types::hex(&digest[..12]))
    };
    match state
        .stripe
        .refund(&payment_intent, amount, metadata.clone(), &key)
        .await
    {
        Ok(r) => {
            println!(
                "refund {} of {} asked of Stripe for {} ({}); Stripe's charge.refunded event records it",
                r.id,
                r.amount.format(chalet_types::Language::default()),
                metadata.get("lines").map_or("", |s| s),
                if restock { "restocked" } else { "not restocked" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "checkout-fn: Stripe refused the refund: {}",
                checkout_fn::error::chain(&e)
            );
            ExitCode::from(1)
        }
    }
}

async fn serve(args: &[String]) -> ExitCode {
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return match checkout_fn::lambda::run(state).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("checkout-fn: {e}");
                ExitCode::from(1)
            }
        };
    }
    let listen = arg(args, "--listen").unwrap_or_else(|| "127.0.0.1:9000".into());
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("checkout-fn: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("checkout-fn listening on http://{listen}");
    match axum::serve(listener, app(state)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            ExitCode::from(1)
        }
    }
}

/// `POST /2018-06-01/runtime/init/error` (AWS Lambda "Runtime API", initialization error).
async fn init_error(api: &str, message: &str) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "errorMessage": message, "errorType": "Runtime.ConfigError" }).to_string();
    let mut stream = tokio::net::TcpStream::connect(api).await?;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nLambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(())
}

fn table_name() -> Result<String, ExitCode> {
    std::env::var("TABLE_NAME")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            eprintln!("checkout-fn: missing environment variable(s): TABLE_NAME");
            ExitCode::from(2)
        })
}

async fn publish(args: &[String]) -> ExitCode {
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let path = arg(args, "--catalogue").unwrap_or_else(|| "dist/catalogue.json".into());
    let catalogue: chalet_types::Catalogue = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("checkout-fn: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let db = dynamo(&table).await;
    if args.iter().any(|a| a == "--create-table") {
        match checkout_fn::publish::create_table(&db).await {
            Ok(true) => eprintln!("created table {table}"),
            Ok(false) => {}
            Err(e) => {
                eprintln!("checkout-fn: cannot create table {table}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    match checkout_fn::publish::publish(&db, &catalogue).await {
        Ok(r) => {
            println!("published {} SKUs to {table} ({} withdrawn)", r.upserted, r.deactivated);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: publishing failed: {e}");
            ExitCode::from(1)
        }
    }
}

async fn registrations() -> ExitCode {
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    match dynamo(&table)
        .await
        .index_rows(chalet_types::table::REGISTRATIONS_INDEX_KEY)
        .await
    {
        Ok(rows) => {
            for r in rows {
                println!("{r}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            ExitCode::from(1)
        }
    }
}

async fn applications(args: &[String]) -> ExitCode {
    use checkout_fn::applications::Status;
    if let Some(id) = arg(args, "--fetch") {
        return fetch_application(args, &id).await;
    }
    let status = match arg(args, "--status") {
        None => None,
        Some(text) => match Status::parse(&text) {
            Some(s) => Some(s),
            None => {
                eprintln!("usage: checkout-fn applications [--status submitted|paid]");
                return ExitCode::from(2);
            }
        },
    };
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    match dynamo(&table).await.applications(status).await {
        Ok(rows) => {
            for r in &rows {
                println!("{r}");
            }
            if let Some(r) = rows.iter().find(|r| r["status"] == Status::Paid.as_str()) {
                eprintln!("to take one in: chalet import {}", r["id"].as_str().unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            ExitCode::from(1)
        }
    }
}

/// Each chalet's private links (JSON and CSV), one chalet a line: `slug<TAB>json<TAB>csv`.
fn links(args: &[String]) -> ExitCode {
    let Some(path) = arg(args, "--catalogue") else {
        eprintln!("usage: checkout-fn links --catalogue dist/catalogue.json");
        return ExitCode::from(2);
    };
    let vars: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let (Some(key), Some(site)) = (
        vars.get("LINKS_KEY")
            .filter(|k| k.len() >= checkout_fn::config::MIN_ORIGIN_SECRET),
        vars.get("SITE_URL").and_then(|u| chalet_types::SiteUrl::parse(u).ok()),
    ) else {
        eprintln!("checkout-fn: LINKS_KEY (32 characters or more) and SITE_URL are needed");
        return ExitCode::from(2);
    };
    let catalogue: chalet_types::Catalogue = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("checkout-fn: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut chalets: Vec<&chalet_types::Slug> = catalogue.items.iter().map(|i| &i.sku.chalet).collect();
    chalets.dedup();
    // The page to send each artisan, then the spreadsheet's address (for a calendar or an
    // accounting tool that fetches it).
    for slug in chalets {
        let (page, csv) = (
            checkout_fn::links::page_link(&site, key, slug),
            checkout_fn::links::link(&site, key, slug, true),
        );
        println!("{slug}\t{page}\t{csv}");
    }
    ExitCode::SUCCESS
}

async fn orders(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!("usage: checkout-fn orders [--chalet SLUG] [--since YYYY-MM-DD] [--format csv|json]");
        ExitCode::from(2)
    };
    let chalet = match arg(args, "--chalet").map(|c| chalet_types::Slug::parse(&c)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return usage(),
    };
    let since = match arg(args, "--since").map(|d| chalet_types::Date::parse(&d)) {
        None => None,
        Some(Some(d)) => Some(d),
        Some(None) => return usage(),
    };
    let format = arg(args, "--format").unwrap_or_else(|| "csv".into());
    if format != "csv" && format != "json" {
        return usage();
    }
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let all = match dynamo(&table).await.all_orders().await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            return ExitCode::from(1);
        }
    };
    let rows = checkout_fn::ledger::rows(&all, chalet.as_ref(), since);
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        print!("{}", checkout_fn::ledger::csv(&rows));
    }
    ExitCode::SUCCESS
}

/// Exit 0 when the statement reconciles, 3 when it does not (it is printed all the same).
async fn statements(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!("usage: checkout-fn statements --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|json|html]");
        ExitCode::from(2)
    };
    let date = |name: &str| arg(args, name).and_then(|d| chalet_types::Date::parse(&d));
    let (Some(from), Some(to)) = (date("--from"), date("--to")) else {
        return usage();
    };
    let format = arg(args, "--format").unwrap_or_else(|| "csv".into());
    if !["csv", "json", "html"].contains(&format.as_str()) || to < from {
        return usage();
    }
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (statement, market) = match checkout_fn::statements::run(&state, from, to).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("checkout-fn: {}", checkout_fn::error::chain(&e));
            return ExitCode::from(1);
        }
    };
    match format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&statement).unwrap_or_default()),
        "html" => print!("{}", checkout_fn::statements::html(&statement, &market)),
        _ => print!("{}", checkout_fn::statements::csv(&statement)),
    }
    eprint!("{}", checkout_fn::statements::summary(&statement));
    if statement.reconciles() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

async fn transfers(args: &[String]) -> ExitCode {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match checkout_fn::transfers::run(&state, dry_run).await {
        Ok(steps) => {
            for step in &steps {
                println!("{}{step}", if dry_run { "would " } else { "" });
            }
            println!(
                "{} step(s){}",
                steps.len(),
                if dry_run { " (dry run: nothing sent)" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: {}", checkout_fn::error::chain(&e));
            ExitCode::from(1)
        }
    }
}

async fn digest(args: &[String]) -> ExitCode {
    let day = match arg(args, "--date").map(|d| chalet_types::Date::parse(&d)) {
        None => checkout_fn::digest::yesterday(checkout_fn::now()),
        Some(Some(d)) => d,
        Some(None) => {
            eprintln!("usage: checkout-fn digest [--date YYYY-MM-DD] [--dry-run]");
            return ExitCode::from(2);
        }
    };
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let state = match state().await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match checkout_fn::digest::run(&state, day, dry_run).await {
        Ok(lines) => {
            for line in &lines {
                println!("{line}");
            }
            println!("{day}: {} chalet(s) asked for a digest", lines.len());
            if lines
                .iter()
                .any(|l| matches!(l.outcome, checkout_fn::digest::Outcome::Failed(_)))
            {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("checkout-fn: {}", checkout_fn::error::chain(&e));
            ExitCode::from(1)
        }
    }
}

async fn purge(args: &[String]) -> ExitCode {
    let days = match arg(args, "--days").map(|d| d.parse::<i64>()) {
        None => std::env::var("RETENTION_DAYS")
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(checkout_fn::purge::DEFAULT_RETENTION_DAYS),
        Some(Ok(d)) if d >= 0 => d,
        Some(_) => {
            eprintln!("usage: checkout-fn purge [--dry-run] [--days N]");
            return ExitCode::from(2);
        }
    };
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let today = chalet_types::Date::from_unix(checkout_fn::now());
    match dynamo(&table).await.purge(days, today, dry_run).await {
        Ok(orders) => {
            let verb = if dry_run { "would erase" } else { "erased" };
            for reference in &orders {
                println!("order {reference}: {verb} the shopper's personal data");
            }
            println!("{} order(s) older than {days} days: {verb}", orders.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            ExitCode::from(1)
        }
    }
}

/// `applications --fetch ID`: the zip written to `--out` (default: the current folder) as
/// `<id>.zip`, and one JSON line saying where, with the application's record.
async fn fetch_application(args: &[String], id: &str) -> ExitCode {
    use aws_credential_types::provider::ProvideCredentials;
    let table = match table_name() {
        Ok(t) => t,
        Err(code) => return code,
    };
    let config = aws_config::load_from_env().await;
    let Some(provider) = config.credentials_provider() else {
        eprintln!("checkout-fn: no AWS credentials to download with");
        return ExitCode::from(2);
    };
    let creds = match provider.provide_credentials().await {
        Ok(c) => checkout_fn::uploads::Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().map(str::to_string),
        },
        Err(e) => {
            eprintln!("checkout-fn: no AWS credentials to download with: {e}");
            return ExitCode::from(2);
        }
    };
    let region = config
        .region()
        .map_or_else(|| "eu-west-1".to_string(), |r| r.to_string());
    let endpoint = std::env::var("S3_ENDPOINT").ok().filter(|e| !e.is_empty());
    let store = Dynamo::new(checkout_fn::dynamo::client(&config), &table);
    let unpaid = args.iter().any(|a| a == "--unpaid");
    match checkout_fn::applications::fetch_zip(&store, &region, endpoint.as_deref(), &creds, id, unpaid).await {
        Ok((record, bytes)) => {
            let dir = std::path::PathBuf::from(arg(args, "--out").unwrap_or_else(|| ".".into()));
            // The id is the function's own (random, alphanumeric): a file name as it is.
            let path = dir.join(format!("{}.zip", record["id"].as_str().unwrap_or(id)));
            if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &bytes)) {
                eprintln!("checkout-fn: {}: {e}", path.display());
                return ExitCode::from(2);
            }
            let mut line = record;
            line["path"] = serde_json::json!(path.display().to_string());
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checkout-fn: {e}");
            ExitCode::from(1)
        }
    }
}
