//! checkout-fn against real protocol peers: DynamoDB Local and the Stripe stand-in.

use crate::common::*;
use proptest::prelude::*;
use serde_json::{Value, json};

fn basket(sku: &str, quantity: i64) -> Value {
    json!({ "items": [{ "sku": sku, "quantity": quantity }], "fulfilment": { "la-cire-d-outremeuse": "pickup" }, "locale": "fr" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn happy_path_two_chalets_paid_once_with_voucher_codes() {
    let h = Harness::start(&example_catalogue()).await;
    let before = h.remaining("la-cire-d-outremeuse", CANDLE).await;
    assert_eq!(before, json!(12));
    let (status, created) = h
        .post_json(
            "/checkout",
            &json!({
                "items": [{ "sku": CANDLE, "quantity": 2, "price": 1, "unit_amount": 1 }, { "sku": MENU, "quantity": 2 }],
                "fulfilment": { "la-cire-d-outremeuse": "shipping" },
                "locale": "fr",
                "email": "client@example.org"
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(created["url"].as_str().expect("url").contains(&id));
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(10),
        "reserved at checkout"
    );

    // What Stripe was asked to charge comes from the catalogue, not from the request.
    let params = h.create_params(&id).await;
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(param("line_items[0][price_data][unit_amount]"), Some("1490"));
    assert_eq!(param("line_items[0][quantity]"), Some("2"));
    assert_eq!(param("line_items[1][price_data][unit_amount]"), Some("5500"));
    assert_eq!(
        param("line_items[2][price_data][unit_amount]"),
        Some("590"),
        "shipping below the 60 € threshold"
    );
    assert_eq!(
        param("line_items[2][price_data][product_data][name]"),
        Some("Livraison — La Cire d'Outremeuse")
    );
    assert_eq!(param("mode"), Some("payment"));
    assert_eq!(param("locale"), Some("fr"));
    assert!(param("expires_at").is_some() && param("client_reference_id").is_some());

    let (_, delivered) = h.stripe_control(&id, "pay").await;
    assert_eq!(delivered, json!(200));
    let (status, order) = h.get(&format!("/orders/{id}")).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["total"], json!(2 * 1490 + 590 + 2 * 5500));
    let chalets = order["chalets"].as_array().expect("chalets");
    assert_eq!(chalets.len(), 2);
    let table = chalets
        .iter()
        .find(|c| c["chalet"] == "la-table-du-carre")
        .expect("voucher chalet");
    let codes = table["lines"][0]["voucher_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 2, "one code per voucher");
    assert_ne!(codes[0], codes[1]);
    assert!(codes.iter().all(|c| {
        c.as_str()
            .is_some_and(|c| c.len() == 19 && !c.contains(['0', 'O', '1', 'I']))
    }));
    assert!(order.get("email").is_none(), "no customer data beyond the order itself");
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(10),
        "sold stays taken"
    );
    // Per-chalet statements read the index.
    let shares = h.db.index_rows("CHALET#la-table-du-carre").await.expect("index");
    assert_eq!(shares.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_shoppers_ten_candles_exactly_ten_sold_none_5xx() {
    let h = std::sync::Arc::new(Harness::start(&with_stock(example_catalogue(), CANDLE, 10)).await);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.post_json("/checkout", &basket(CANDLE, 1)).await
        }));
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            200 => ok.push(body["id"].as_str().expect("id").to_string()),
            409 => {
                assert_eq!(body["error"]["code"], "out_of_stock", "{body}");
                assert_eq!(body["error"]["sku"], CANDLE);
                assert_eq!(body["error"]["remaining"], 0);
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok.len(), refused), (10, 190));
    assert_eq!(h.remaining("la-cire-d-outremeuse", CANDLE).await, json!(0));
    let (_, delivered) = h.stripe_control(&ok[0], "expire").await;
    assert_eq!(delivered, json!(200));
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(1),
        "expiry gives the candle back"
    );
    let (status, body) = h.post_json("/checkout", &basket(CANDLE, 1)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h.post_json("/checkout", &basket(CANDLE, 1)).await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("out_of_stock")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_are_verified_and_recorded_exactly_once() {
    let h = std::sync::Arc::new(Harness::start(&with_stock(example_catalogue(), CANDLE, 5)).await);
    let (_, created) = h.post_json("/checkout", &basket(CANDLE, 2)).await;
    let id = created["id"].as_str().expect("id").to_string();
    // Pay at the stand-in, delivering to a closed port: we get the event without recording it.
    let (event, _) = h.stripe_control_to(&id, "pay", "http://127.0.0.1:9/webhook").await;
    let body = serde_json::to_vec(&event).expect("event");
    let good = stripe_standin::sign(WEBHOOK_SECRET, now(), &body);

    assert_eq!(
        h.deliver(&body, &stripe_standin::sign("whsec_wrong", now(), &body))
            .await,
        400,
        "bad signature"
    );
    assert_eq!(
        h.deliver(&body, &stripe_standin::sign(WEBHOOK_SECRET, now() - 600, &body))
            .await,
        400,
        "stale timestamp"
    );
    let mut tampered = body.clone();
    let at = tampered.windows(4).position(|w| w == b"1490").unwrap_or(10);
    tampered[at] = b'9';
    assert_eq!(h.deliver(&tampered, &good).await, 400, "tampered body");
    assert_eq!(h.deliver(&body, "").await, 400, "no signature");
    // (Read from the table: the order page would ask Stripe and record the paid session.)
    assert_eq!(
        h.db.order(&id).await.expect("read"),
        None,
        "refused deliveries record nothing"
    );
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(3),
        "still only reserved"
    );

    // Several v1 values (a rotated secret): one valid is enough.
    // Both signatures over one timestamp (a second may have ticked since `good` was made).
    let t = now();
    let both = format!(
        "{},v1={}",
        stripe_standin::sign("whsec_old", t, &body),
        stripe_standin::sign(WEBHOOK_SECRET, t, &body)
            .split("v1=")
            .nth(1)
            .unwrap_or("")
    );
    assert_eq!(h.deliver(&body, &both).await, 200);
    // The same event again, sequentially and concurrently.
    for _ in 0..2 {
        assert_eq!(
            h.deliver(&body, &stripe_standin::sign(WEBHOOK_SECRET, now(), &body))
                .await,
            200
        );
    }
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (h, body) = (h.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            h.deliver(&body, &stripe_standin::sign(WEBHOOK_SECRET, now(), &body))
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let (status, order) = h.get(&format!("/orders/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(order["chalets"][0]["lines"][0]["quantity"], 2);
    assert_eq!(
        h.db.index_rows("CHALET#la-cire-d-outremeuse")
            .await
            .expect("index")
            .len(),
        1,
        "one order"
    );
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(3),
        "sold once: 5 - 2"
    );

    // Expired after completed changes nothing.
    let mut expired = event.clone();
    expired["type"] = json!("checkout.session.expired");
    expired["id"] = json!("evt_expired_after_paid");
    let ebody = serde_json::to_vec(&expired).expect("json");
    assert_eq!(
        h.deliver(&ebody, &stripe_standin::sign(WEBHOOK_SECRET, now(), &ebody))
            .await,
        200
    );
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(3),
        "a sale is not undone by a late expiry"
    );
    assert_eq!(h.get(&format!("/orders/{id}")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_specific_errors() {
    let h = Harness::start(&example_catalogue()).await;
    let code = |r: &(u16, Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_string());
    assert_eq!(
        code(&h.post_raw("/checkout", "application/json", b"{not json".to_vec()).await),
        (400, "invalid_json".into())
    );
    assert_eq!(
        code(&h.post_raw("/checkout", "text/plain", b"{}".to_vec()).await),
        (415, "unsupported_media_type".into())
    );
    assert_eq!(
        code(&h.post_raw("/checkout", "application/json", vec![b' '; 70 * 1024]).await),
        (413, "body_too_large".into())
    );
    assert_eq!(
        code(
            &h.post_raw("/checkout", "application/json", vec![b' '; 900 * 1024])
                .await
        ),
        (413, "body_too_large".into())
    );
    assert_eq!(
        code(&h.post_json("/checkout", &basket(CANDLE, 0)).await),
        (422, "invalid_quantity".into())
    );
    assert_eq!(
        code(&h.post_json("/checkout", &basket(CANDLE, -2)).await),
        (422, "invalid_quantity".into())
    );
    assert_eq!(
        code(&h.post_json("/checkout", &basket("la-cire-d-outremeuse/nope", 1)).await),
        (422, "unknown_sku".into())
    );
    let lines: Vec<Value> = (0..101)
        .map(|i| json!({ "sku": format!("a/p{i}"), "quantity": 1 }))
        .collect();
    assert_eq!(
        code(&h.post_json("/checkout", &json!({ "items": lines })).await),
        (422, "too_many_lines".into())
    );
    assert_eq!(
        code(
            &h.post_json("/checkout", &json!({ "items": [{ "sku": CANDLE, "quantity": 1 }] }))
                .await
        ),
        (422, "fulfilment_required".into())
    );
    assert_eq!(
        h.get("/orders/cs_test_doesnotexist").await,
        (202, json!({ "status": "pending" }))
    );
    assert_eq!(
        code(&h.get("/orders/not_a_session").await),
        (400, "order_not_found".into())
    );
    assert_eq!(code(&h.get("/orders/../../etc").await).0, 404);
    assert_eq!(
        code(&h.get("/availability?chalet=Bad_Slug").await),
        (400, "invalid_chalet".into())
    );
    assert_eq!(h.get("/health").await.0, 200);
    assert_eq!(
        h.get("/api/health").await.0,
        200,
        "also under /api, as CloudFront forwards it"
    );
    // CORS answers only the site's origin.
    let pre = h
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/checkout", h.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    // An exact origin is always the one announced; the browser refuses the mismatch.
    let allowed = pre
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert!(
        allowed.as_deref() != Some("https://evil.example") && allowed.as_deref() != Some("*"),
        "{allowed:?}"
    );
    let pre = h
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/checkout", h.base))
        .header("origin", SITE)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        pre.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(SITE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_failure_releases_the_reservation() {
    // Stripe unreachable: nothing listens on port 9.
    let h = Harness::start_with_stripe(&with_stock(example_catalogue(), CANDLE, 5), "http://127.0.0.1:9".into()).await;
    let (status, body) = h.post_json("/checkout", &basket(CANDLE, 3)).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (502, json!("payment_unavailable"))
    );
    assert!(!body.to_string().contains("127.0.0.1"), "no internals leak: {body}");
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(5),
        "the 3 candles were given back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_json_never_causes_a_server_error() {
    let h = Harness::start(&example_catalogue()).await;
    let runtime = tokio::runtime::Handle::current();
    let strategy = prop_oneof![
        "\\PC{0,80}".prop_map(|s| s.into_bytes()),
        (prop::collection::vec(("[a-z/\\-]{0,40}", -5i64..200), 0..5), any::<bool>()).prop_map(|(items, ship)| {
            let items: Vec<Value> = items.into_iter().map(|(s, q)| json!({ "sku": s, "quantity": q })).collect();
            serde_json::to_vec(&json!({ "items": items, "fulfilment": { "la-cire-d-outremeuse": if ship { "shipping" } else { "teleport" } } })).unwrap_or_default()
        }),
        any::<Vec<u8>>(),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 64,
        ..Default::default()
    });
    runner
        .run(&strategy, |body| {
            let (status, reply) =
                tokio::task::block_in_place(|| runtime.block_on(h.post_raw("/checkout", "application/json", body)));
            prop_assert!(status < 500, "{status}: {reply}");
            prop_assert!(reply["error"]["code"].is_string() || status == 200);
            Ok(())
        })
        .expect("no 5xx");
}

#[tokio::test]
#[ignore = "talks to real Stripe test mode: run with STRIPE_TEST_SECRET_KEY set and --ignored"]
async fn real_stripe_test_mode_accepts_our_sessions() {
    let key = std::env::var("STRIPE_TEST_SECRET_KEY").expect("STRIPE_TEST_SECRET_KEY");
    let stripe = checkout_fn::payments::Stripe::new(&key, None).expect("client");
    let lines = vec![checkout_fn::payments::SessionLine {
        name: "Test".into(),
        description: None,
        unit_amount: chalet_types::Money::from_cents(1490),
        quantity: 1,
    }];
    let s = stripe
        .create(
            checkout_fn::payments::NewSession {
                lines,
                reference: "test",
                metadata: Default::default(),
                success_url: "https://example.org/ok".into(),
                cancel_url: "https://example.org/ko".into(),
                locale: Some("fr"),
                email: None,
                currency: chalet_types::Currency::Eur,
                shipping_countries: Some(vec!["BE".into(), "NL".into()]),
                collect_phone: true,
            },
            &format!("chalet-test-{}", now()),
        )
        .await
        .expect("real Stripe accepts the session");
    assert!(s.url.starts_with("https://checkout.stripe.com/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_fee_is_charged_and_the_paid_registration_listed() {
    let h = Harness::start(&example_catalogue()).await;
    let (status, body) = h
        .post_json(
            "/registrations",
            &json!({ "chalet_name": "La Forge d'Or", "artisan": "Émile", "email": "emile@example.org" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
    let params = h.create_params(&id).await;
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(
        param("line_items[0][price_data][unit_amount]"),
        Some("10000"),
        "150 € minus the sponsors' 50 €"
    );
    assert_eq!(param("metadata[kind]"), Some("registration"));
    assert!(
        h.db.index_rows("REGISTRATIONS").await.expect("index").is_empty(),
        "nothing before payment"
    );
    let (_, delivered) = h.stripe_control(&id, "pay").await;
    assert_eq!(delivered, json!(200));
    let rows = h.db.index_rows("REGISTRATIONS").await.expect("index");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["chalet_name"], "La Forge d'Or");
    let (status, body) = h
        .post_json(
            "/registrations",
            &json!({ "chalet_name": " ", "artisan": "x", "email": "x@example.org" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_registration"))
    );
}
