//! `scripts/bench-checkout` runs this against the real local peers and a release build of the
//! function: process start → ready, then p50/p99 latency of `POST /checkout` and `POST /webhook`.
//! Prints numbers; asserts nothing (performance is not a test).

use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: bench <checkout-fn binary> <table>");
    let table = std::env::args().nth(2).expect("table");
    let stripe = std::env::var("CHALET_TEST_STRIPE").expect("CHALET_TEST_STRIPE");
    let dynamo = std::env::var("CHALET_TEST_DYNAMODB").expect("CHALET_TEST_DYNAMODB");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Start → ready: exec until /health answers.
    let started = Instant::now();
    let mut child = std::process::Command::new(&bin)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TABLE_NAME", &table)
        .env("STRIPE_SECRET_KEY", "sk_test_chalet_standin")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_chalet_standin")
        .env("VOUCHER_CODES_KEY", "vck_bench_0123456789abcdef0123456789")
        .env("SITE_URL", "http://127.0.0.1:1225")
        .env("STRIPE_API_BASE", &stripe)
        .env("AWS_ENDPOINT_URL", &dynamo)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the function");
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not ready after 10 s");
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let ready = started.elapsed();

    let n = 200;
    let body = json!({ "items": [{ "sku": "la-table-du-carre/bon-cadeau-50-euros", "quantity": 1 }], "locale": "fr" });
    let mut checkout = Vec::with_capacity(n);
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r: Value = http
            .post(format!("{base}/checkout"))
            .json(&body)
            .send()
            .await
            .expect("checkout")
            .json()
            .await
            .expect("json");
        checkout.push(t.elapsed());
        sessions.push(r["id"].as_str().expect("session").to_string());
    }
    let mut webhook = Vec::with_capacity(n);
    for id in &sessions {
        // The stand-in makes the event; we deliver it ourselves to time only the function.
        let r: Value = http
            .post(format!("{stripe}/__control/checkout/sessions/{id}/pay"))
            .json(&json!({ "webhook_url": "http://127.0.0.1:9/" }))
            .send()
            .await
            .expect("pay")
            .json()
            .await
            .expect("json");
        let event = serde_json::to_vec(&r["event"]).expect("event");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let sig = stripe_standin::sign("whsec_chalet_standin", now, &event);
        let t = Instant::now();
        let status = http
            .post(format!("{base}/webhook"))
            .header("stripe-signature", sig)
            .body(event)
            .send()
            .await
            .expect("webhook")
            .status();
        webhook.push(t.elapsed());
        assert!(status.is_success());
    }
    // Contention: 200 shoppers at once for a candle with 10 units (scripts/bench-checkout sets it).
    let candle = json!({ "items": [{ "sku": "la-cire-d-outremeuse/bougie-sapin-des-fagnes", "quantity": 1 }], "fulfilment": { "la-cire-d-outremeuse": "pickup" } });
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (http, base, candle) = (http.clone(), base.clone(), candle.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let status = http
                .post(format!("{base}/checkout"))
                .json(&candle)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (status, t.elapsed())
        }));
    }
    let mut contended = Vec::new();
    let (mut sold, mut refused, mut other) = (0, 0, 0);
    for t in tasks {
        let (status, took) = t.await.expect("task");
        contended.push(took);
        match status {
            200 => sold += 1,
            409 => refused += 1,
            _ => other += 1,
        }
    }
    contended.sort();
    let _ = child.kill();
    let _ = child.wait();
    checkout.sort();
    webhook.sort();
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!(
        "checkout-fn ({}), against DynamoDB Local and the Stripe stand-in on loopback, {n} requests each",
        bin
    );
    println!("  binary size        {:.1} MB", size as f64 / 1_048_576.0);
    println!("  start → ready      {:.1} ms", ready.as_secs_f64() * 1000.0);
    println!(
        "  POST /checkout     p50 {:.1} ms   p99 {:.1} ms",
        pct(&checkout, 0.5),
        pct(&checkout, 0.99)
    );
    println!(
        "  POST /webhook      p50 {:.1} ms   p99 {:.1} ms",
        pct(&webhook, 0.5),
        pct(&webhook, 0.99)
    );
    println!(
        "  200 at once, 10 units: {sold} sold, {refused} refused (409), {other} other   p50 {:.1} ms   p99 {:.1} ms",
        pct(&contended, 0.5),
        pct(&contended, 0.99)
    );
}
