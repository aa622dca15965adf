//! Money and stock are never lost: a Stripe that hangs or throttles, a DynamoDB that stops
//! answering, a shopper who cancels or presses *Pay* twice, and events that never arrive —
//! settled by the reconciler (`checkout-fn reconcile`). Real peers: DynamoDB Local and the Stripe
//! stand-in (a private one where the test plans faults).

use crate::common::*;
use chalet_types::Stock;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The create calls the stand-in received for one reservation.
async fn creates_for(h: &Harness, reservation: &str) -> Vec<Value> {
    h.stripe_calls()
        .await
        .into_iter()
        .filter(|c| {
            c["endpoint"] == "create"
                && c["params"].as_array().is_some_and(|p| {
                    p.iter()
                        .any(|kv| kv[0] == "metadata[reservation]" && kv[1] == reservation)
                })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_hanging_answers_502_within_the_budget_and_gives_the_stock_back() {
    let h = Harness::start_private(&example_catalogue()).await;
    h.control("faults", &json!({ "faults": [{ "stall_ms": 60_000 }], "repeat": true }))
        .await;
    let started = Instant::now();
    let (status, body) = h.post_json("/checkout", &candles(3)).await;
    let took = started.elapsed();
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "payment_unavailable");
    assert!(
        took < checkout_fn::payments::STRIPE_BUDGET + Duration::from_secs(3),
        "answered after {took:?}"
    );
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(12), "the stock is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_then_success_and_a_lost_answer_each_make_one_session() {
    let h = Harness::start_private(&example_catalogue()).await;
    // Throttled once: retried with the reservation's key, one session.
    h.control("faults", &json!({ "faults": [{ "status": 429 }] })).await;
    let (status, body) = h.post_json("/checkout", &candles(1)).await;
    assert_eq!(status, 200, "{body}");
    let reservation = body["reservation"].as_str().expect("reservation").to_string();
    let calls = creates_for(&h, &reservation).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["refused"], 429);
    assert_eq!(calls[1]["session"], body["id"]);

    // The first answer is lost (Stripe made the session, the reply came after our attempt's
    // timeout): the retry carries the same idempotency key and gets the same session back.
    h.control("faults", &json!({ "faults": [{ "delay_ms": 6_000 }] })).await;
    let (status, body) = h.post_json("/checkout", &candles(1)).await;
    assert_eq!(status, 200, "{body}");
    let reservation = body["reservation"].as_str().expect("reservation").to_string();
    let calls = creates_for(&h, &reservation).await;
    let made: Vec<&Value> = calls.iter().filter(|c| c["session"].is_string()).collect();
    assert_eq!(made.len(), 1, "one session, not two: {calls:?}");
    assert_eq!(made[0]["session"], body["id"]);
    assert!(calls.iter().any(|c| c["replayed"] == true), "{calls:?}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_that_stops_answering_costs_a_quick_5xx_not_a_hang() {
    // Accepts connections and never answers, like a partitioned DynamoDB endpoint.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = blackhole.local_addr().expect("addr");
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in blackhole.incoming().flatten() {
            held.push(stream);
        }
    });
    let builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{address}"))
        .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("t", "t", None, None, "t"));
    let client = aws_sdk_dynamodb::Client::from_conf(checkout_fn::dynamo::with_deadlines(builder));
    let store = checkout_fn::dynamo::Dynamo::new(client, "unreachable");
    let base = serve_with_store(store).await;
    let http = reqwest::Client::new();
    for (method, path, body) in [
        ("POST", "/checkout", Some(candles(1))),
        ("GET", "/availability?chalet=la-cire-d-outremeuse", None),
    ] {
        let started = Instant::now();
        let mut req = http.request(method.parse().expect("method"), format!("{base}{path}"));
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.expect("answered");
        let took = started.elapsed();
        let status = r.status().as_u16();
        let json: Value = r.json().await.expect("a JSON error");
        assert!(status >= 500, "{path}: {status} {json}");
        assert_eq!(json["error"]["code"], "internal", "{path}: {json}");
        assert!(
            took < checkout_fn::dynamo::OPERATION_TIMEOUT * 2 + Duration::from_secs(1),
            "{path} answered after {took:?}"
        );
    }
    // A paid event the table cannot record is refused with a 5xx, so Stripe delivers it again.
    let h = Harness::start(&example_catalogue()).await;
    let (status, created) = h.post_json("/checkout", &candles(1)).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id");
    let (event, _) = h.stripe_control_to(session, "pay", "http://127.0.0.1:9/webhook").await;
    let body = serde_json::to_vec(&event).expect("json");
    let started = Instant::now();
    let status = http
        .post(format!("{base}/webhook"))
        .header("stripe-signature", stripe_standin::sign(WEBHOOK_SECRET, now(), &body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered")
        .status()
        .as_u16();
    assert_eq!(status, 500);
    assert!(started.elapsed() < checkout_fn::dynamo::OPERATION_TIMEOUT * 2 + Duration::from_secs(1));
}

/// The function's router on a free port with `store`, the shared stand-in for Stripe.
async fn serve_with_store(store: checkout_fn::dynamo::Dynamo) -> String {
    let stripe_base = std::env::var("CHALET_TEST_STRIPE").expect("scripts/test starts the stand-in");
    serve(&store, &stripe_base, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_gives_the_stock_back_at_once_and_pay_twice_holds_once() {
    let h = Harness::start(&with_stock(example_catalogue(), CANDLE, 5)).await;
    let (status, body) = h.post_json("/checkout", &candles(2)).await;
    assert_eq!(status, 200, "{body}");
    let reservation = body["reservation"].as_str().expect("reservation").to_string();
    let session = body["id"].as_str().expect("id").to_string();
    let params = h.create_params(&session).await;
    let cancel_url = params
        .iter()
        .find(|(k, _)| k == "cancel_url")
        .map(|(_, v)| v.clone())
        .expect("cancel_url");
    assert!(
        cancel_url.ends_with(&format!("?cancelled={reservation}")),
        "{cancel_url}"
    );
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(
        param("payment_intent_data[metadata][reservation]"),
        Some(reservation.clone()),
        "refund and dispute events name the payment; it names the reservation"
    );
    assert_eq!(
        param("line_items[0][price_data][tax_behavior]").as_deref(),
        Some("inclusive"),
        "prices include VAT"
    );
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(3));

    let path = format!("/checkout/{reservation}/cancel");
    let (status, body) = h.post_json(&path, &json!({})).await;
    assert_eq!((status, body["status"].clone()), (200, json!("released")), "{body}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(5), "back at once");
    assert_eq!(
        h.stripe_session(&session).await["status"],
        "expired",
        "cannot be paid any more"
    );
    let (status, body) = h.post_json(&path, &json!({})).await;
    assert_eq!((status, body["status"].clone()), (200, json!("released")), "idempotent");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(5));
    let (status, body) = h.post_json("/checkout/not-a-reservation/cancel", &json!({})).await;
    assert_eq!(status, 400, "{body}");

    // *Pay* twice for one basket: the second replaces the first.
    let (_, first) = h.post_json("/checkout", &candles(2)).await;
    let first_reservation = first["reservation"].as_str().expect("reservation");
    let mut again = candles(2);
    again["replaces"] = json!(first_reservation);
    let (status, second) = h.post_json("/checkout", &again).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(3), "held once, not twice");
    let held = h.db.held_before(now() + 10).await.expect("held");
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].id, second["reservation"].as_str().expect("reservation"));
    assert_eq!(
        h.stripe_session(first["id"].as_str().expect("id")).await["status"],
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_tells_sold_from_held_in_other_baskets() {
    let h = Harness::start(&with_stock(example_catalogue(), CANDLE, 3)).await;
    let (status, _) = h.post_json("/checkout", &candles(2)).await;
    assert_eq!(status, 200);
    let (status, body) = h.post_json("/checkout", &candles(2)).await;
    assert_eq!(status, 409, "{body}");
    let e = &body["error"];
    assert_eq!((e["remaining"].clone(), e["held"].clone()), (json!(1), json!(2)), "{e}");
    assert!(e["back_by"].is_string(), "{e}");
    assert!(e["remaining"].as_i64() < Some(2), "never as many as asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_limited_product_by_reposting() {
    let h = Harness::start(&example_catalogue()).await;
    let post = |ip: &'static str| {
        let h = &h;
        async move {
            let r = h
                .http
                .post(format!("{}/checkout", h.base))
                .header("true-client-ip", ip)
                .json(&candles(1))
                .send()
                .await
                .expect("answered");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        }
    };
    let max = checkout_fn::dynamo::MAX_OPEN_PER_CLIENT;
    let mut held = Vec::new();
    for _ in 0..max {
        let (status, body) = post("203.0.113.7").await;
        assert_eq!(status, 200, "{body}");
        held.push(body);
    }
    let (status, body) = post("203.0.113.7").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_reservations");
    assert_eq!(
        h.remaining(CHALET, CANDLE).await,
        json!(12 - max),
        "the refused one holds nothing"
    );
    let (status, body) = post("198.51.100.2").await;
    assert_eq!(status, 200, "another shopper is not affected: {body}");

    // A cancel, or a sale, gives the client a slot back.
    let first = held[0]["reservation"].as_str().expect("reservation");
    let (status, _) = h.post_json(&format!("/checkout/{first}/cancel"), &json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = post("203.0.113.7").await;
    assert_eq!(status, 200, "{body}");
    let (_, delivered) = h.stripe_control(held[1]["id"].as_str().expect("id"), "pay").await;
    assert_eq!(delivered, json!(200));
    let (status, body) = post("203.0.113.7").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post("203.0.113.7").await;
    assert_eq!(status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_lines_count_against_stripes_hundred_lines() {
    let mut cat = example_catalogue();
    let template = cat
        .items
        .iter()
        .find(|i| i.sku.to_string() == CANDLE)
        .expect("candle")
        .clone();
    assert!(template.fulfilment.shipping.is_some(), "the candle ships");
    for i in 0..100 {
        let mut item = template.clone();
        item.sku = chalet_types::Sku::parse(&format!("{CHALET}/p{i}")).expect("sku");
        item.stock = Stock::MadeToOrder;
        // Cheap enough that 100 of them stay under the free-delivery threshold: a shipping line.
        item.price = chalet_types::Money::from_cents(10);
        cat.items.push(item);
    }
    let h = Harness::start(&cat).await;
    let items: Vec<Value> = (0..100)
        .map(|i| json!({ "sku": format!("{CHALET}/p{i}"), "quantity": 1 }))
        .collect();
    let (status, body) = h
        .post_json(
            "/checkout",
            &json!({ "items": items, "fulfilment": { CHALET: "shipping" } }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "too_many_lines");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("101")),
        "{body}"
    );
    let (status, body) = h
        .post_json(
            "/checkout",
            &json!({ "items": items, "fulfilment": { CHALET: "pickup" } }),
        )
        .await;
    assert_eq!(status, 200, "100 lines without shipping fit: {body}");
}
