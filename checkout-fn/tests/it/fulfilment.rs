//! Every paid order can be handed over: Checkout collects an address when something ships and a
//! phone when goods are picked up; each chalet's share holds what that artisan needs and no more.

use crate::common::*;
use serde_json::{Value, json};

const SOAP: &str = "savonnerie-du-pont-d-avroy/savon-au-lait-d-anesse"; // picked up here

fn param(params: &[(String, String)], key: &str) -> Option<String> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipping_and_a_pickup_chalet_collect_address_and_phone_and_share_only_what_each_needs() {
    let h = Harness::start(&example_catalogue()).await;
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": SOAP, "quantity": 2 }],
        "fulfilment": { CHALET: "shipping", "savonnerie-du-pont-d-avroy": "pickup" }
    });
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let params = h.create_params(&session).await;
    let countries: Vec<String> = (0..5)
        .filter_map(|i| param(&params, &format!("shipping_address_collection[allowed_countries][{i}]")))
        .collect();
    assert_eq!(countries, ["BE", "NL", "LU", "FR", "DE"], "market.yaml's default");
    assert_eq!(
        param(&params, "phone_number_collection[enabled]").as_deref(),
        Some("true")
    );

    let shopper = json!({
        "name": "Anne Lambert",
        "phone": "+32 470 12 34 56",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    let paid = h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    assert_eq!(
        paid["event"]["data"]["object"]["collected_information"]["shipping_details"]["address"]["line1"],
        "Rue Hors-Château 12",
        "where Stripe puts it for the pinned API version"
    );

    let shipping = h.db.index_rows(&format!("CHALET#{CHALET}")).await.expect("index");
    assert_eq!(shipping.len(), 1);
    assert_eq!(shipping[0]["ship_to"]["line1"], "Rue Hors-Château 12");
    assert_eq!(shipping[0]["ship_to"]["name"], "Anne Lambert");
    assert!(shipping[0].get("phone").is_none(), "{}", shipping[0]);
    let pickup =
        h.db.index_rows("CHALET#savonnerie-du-pont-d-avroy")
            .await
            .expect("index");
    assert_eq!(pickup[0]["name"], "Anne Lambert");
    assert_eq!(pickup[0]["phone"], "+32 470 12 34 56");
    assert!(
        pickup[0].get("ship_to").is_none(),
        "no address where none is needed: {}",
        pickup[0]
    );

    let (status, order) = h.get(&format!("/orders/{session}")).await;
    assert_eq!(status, 200, "{order}");
    let share = |chalet: &str| -> Value {
        order["chalets"]
            .as_array()
            .and_then(|c| c.iter().find(|s| s["chalet"] == chalet))
            .cloned()
            .expect("share")
    };
    assert_eq!(share(CHALET)["ship_to"]["city"], "Liège");
    assert!(share("savonnerie-du-pont-d-avroy").get("ship_to").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_asks_no_address_and_vouchers_ask_neither() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, created) = h.post_json("/checkout", &candles(1)).await;
    let params = h.create_params(created["id"].as_str().expect("id")).await;
    assert!(
        !params.iter().any(|(k, _)| k.starts_with("shipping_address_collection")),
        "{params:?}"
    );
    assert_eq!(
        param(&params, "phone_number_collection[enabled]").as_deref(),
        Some("true")
    );

    let (_, created) = h
        .post_json("/checkout", &json!({ "items": [{ "sku": MENU, "quantity": 1 }] }))
        .await;
    let params = h.create_params(created["id"].as_str().expect("id")).await;
    assert!(
        !params
            .iter()
            .any(|(k, _)| k.starts_with("shipping_address_collection") || k.starts_with("phone_number")),
        "a voucher is e-mailed: {params:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_page_refuses_an_address_outside_the_allowed_countries() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, created) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": CANDLE, "quantity": 1 }], "fulfilment": { CHALET: "shipping" } }),
        )
        .await;
    let session = created["id"].as_str().expect("id");
    let refused = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "address": { "line1": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US" } }),
        )
        .await;
    assert_eq!(refused["error"]["type"], "invalid_request_error", "{refused}");
    assert_eq!(
        h.stripe_session(session).await["status"],
        "open",
        "still payable with a good address"
    );
}

/// The function's own log of a whole checkout — basket, payment page, webhook, order page — holds
/// no session id (the order's credential), voucher code, e-mail, phone, name or address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_a_whole_checkout_holds_no_credential_and_no_personal_data() {
    let h = Harness::start(&example_catalogue()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_checkout-fn"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_clear()
        .envs(h.function_env())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the function starts");
    let started = std::time::Instant::now();
    while h.http.get(format!("{base}/health")).send().await.is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "not ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let email = "anne.lambert@example.org";
    let created = json_of(h.http.post(format!("{base}/checkout")).json(&json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": MENU, "quantity": 2 }],
        "fulfilment": { CHALET: "shipping" },
        "email": email
    })))
    .await;
    let session = created["id"].as_str().expect("a session").to_string();
    let shopper = json!({
        "name": "Anne Lambert",
        "phone": "+32 470 98 76 54",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{base}/webhook")
    });
    let paid = h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    let order = json_of(h.http.get(format!("{base}/orders/{session}"))).await;
    let codes: Vec<String> = order["chalets"]
        .as_array()
        .expect("chalets")
        .iter()
        .flat_map(|c| c["lines"].as_array().cloned().unwrap_or_default())
        .flat_map(|l| l["voucher_codes"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 2, "{order}");
    let mut child = child;
    let _ = child.start_kill();
    let out = child.wait_with_output().await.expect("output");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("checkout session created") && log.contains("session settled"),
        "{log}"
    );
    let mut secrets = vec![session.clone(), email.to_string(), "+32 470 98 76 54".into()];
    secrets.extend(["Anne Lambert", "Hors-Château", "anne.lambert"].map(String::from));
    secrets.extend(codes);
    for secret in secrets {
        assert!(!log.contains(&secret), "the log holds {secret}:\n{log}");
    }
}
