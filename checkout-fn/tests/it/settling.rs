//! Settling what events did not: the order page asks Stripe while the webhook is late, the
//! reconciler (`checkout-fn reconcile`) settles reservations no event reported, delayed payments
//! sell only once they settle, and a paid session is never acknowledged unrecorded.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_page_asks_stripe_when_the_webhook_is_late() {
    let h = Harness::start(&example_catalogue()).await;
    let (status, body) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": MENU, "quantity": 1 }], "locale": "fr" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let session = body["id"].as_str().expect("id").to_string();
    let (status, pending) = h.get(&format!("/orders/{session}")).await;
    assert_eq!((status, pending["status"].clone()), (202, json!("pending")));
    // Paid, the event withheld (the function was down): the page still shows the order.
    h.control(
        &format!("checkout/sessions/{session}/pay"),
        &json!({ "deliver": false }),
    )
    .await;
    let (status, order) = h.get(&format!("/orders/{session}")).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "paid");
    let codes = &order["chalets"][0]["lines"][0]["voucher_codes"];
    assert_eq!(codes.as_array().map(Vec::len), Some(1), "{order}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_settles_what_no_event_reported_and_a_second_run_changes_nothing() {
    let h = Harness::start(&with_stock(example_catalogue(), CANDLE, 10)).await;
    let checkout = |body: Value| {
        let h = &h;
        async move {
            let (status, b) = h.post_json("/checkout", &body).await;
            assert_eq!(status, 200, "{b}");
            (
                b["id"].as_str().expect("id").to_string(),
                b["reservation"].as_str().expect("reservation").to_string(),
            )
        }
    };
    // 1. Expired at Stripe, the event withheld.
    let (expired, expired_res) = checkout(candles(3)).await;
    h.control(
        &format!("checkout/sessions/{expired}/expire"),
        &json!({ "deliver": false }),
    )
    .await;
    // 2. Paid, the event withheld: a voucher, so the order must carry its code.
    let (paid, paid_res) = checkout(json!({ "items": [{ "sku": MENU, "quantity": 1 }] })).await;
    h.control(&format!("checkout/sessions/{paid}/pay"), &json!({ "deliver": false }))
        .await;
    // 3. Still open, not yet due.
    let (_open, open_res) = checkout(candles(1)).await;
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(6));

    let (code, out, err) = h.cli(&["reconcile", "--older-than", "0s", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("reservation {expired_res}: expired: would release the stock")),
        "{out}"
    );
    assert!(out.contains("dry run: nothing changed"), "{out}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(6), "a dry run writes nothing");

    let (code, out, err) = h.cli(&["reconcile", "--older-than", "0s"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("reservation {expired_res}: expired: stock released")),
        "{out}"
    );
    assert!(
        out.contains(&format!("reservation {paid_res}: paid: order recorded")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "reservation {open_res}: open: the shopper may still pay; left alone"
        )),
        "{out}"
    );
    assert!(!out.contains(&paid), "no session ids in the output: {out}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(9), "3 back, 1 still held");
    let order = h.db.order(&paid).await.expect("read").expect("recorded");
    assert_eq!(order.lines[0].voucher_codes.len(), 1);

    let (code, again, err) = h.cli(&["reconcile", "--older-than", "0s"]);
    assert_eq!(code, 0, "{again}{err}");
    assert!(again.starts_with(&format!("reservation {open_res}: open")), "{again}");
    assert!(again.contains("1 held reservation(s) looked at, 0 failed"), "{again}");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(9));

    // The default looks only at reservations past their session's expiry: none here.
    let (code, default, _) = h.cli(&["reconcile"]);
    assert_eq!(code, 0);
    assert!(default.contains("0 held reservation(s) looked at"), "{default}");
    let (code, _, err) = h.cli(&["reconcile", "--older-than", "soon"]);
    assert_eq!(code, 2);
    assert!(err.contains("--older-than takes a duration"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_payment_sells_only_once_it_settles_and_a_failed_one_gives_the_stock_back() {
    let h = Harness::start(&example_catalogue()).await;
    let hook = format!("{}/webhook", h.base);
    let (_, body) = h.post_json("/checkout", &candles(2)).await;
    let session = body["id"].as_str().expect("id").to_string();
    let (_, delivered) = h.stripe_control_to(&session, "process", &hook).await;
    assert_eq!(delivered, json!(200));
    assert_eq!(
        h.db.order(&session).await.expect("read"),
        None,
        "completed but unpaid: no sale"
    );
    let (status, pending) = h.get(&format!("/orders/{session}")).await;
    assert_eq!((status, pending["status"].clone()), (202, json!("pending")));
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(10), "still held");
    let (_, delivered) = h.stripe_control_to(&session, "succeed", &hook).await;
    assert_eq!(delivered, json!(200));
    assert!(h.db.order(&session).await.expect("read").is_some(), "settled: sold");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(10));

    let (_, body) = h.post_json("/checkout", &candles(3)).await;
    let failing = body["id"].as_str().expect("id").to_string();
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(7));
    h.stripe_control_to(&failing, "process", &hook).await;
    let (_, delivered) = h.stripe_control_to(&failing, "fail", &hook).await;
    assert_eq!(delivered, json!(200));
    assert_eq!(h.db.order(&failing).await.expect("read"), None);
    assert_eq!(
        h.remaining(CHALET, CANDLE).await,
        json!(10),
        "the failed payment's stock is back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_session_whose_reservation_is_gone_is_answered_5xx_so_stripe_delivers_it_again() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, body) = h.post_json("/checkout", &candles(1)).await;
    let session = body["id"].as_str().expect("id").to_string();
    let reservation = body["reservation"].as_str().expect("reservation");
    h.db.client
        .delete_item()
        .table_name(&h.db.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("RES#{reservation}")),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("RES".into()))
        .send()
        .await
        .expect("deleted");
    let (_, delivered) = h.stripe_control(&session, "pay").await;
    assert_eq!(delivered, json!(500), "never a 200 for a paid order not recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_after_its_stock_was_released_is_flagged_and_a_redelivery_keeps_the_flag() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, body) = h.post_json("/checkout", &candles(1)).await;
    let session = body["id"].as_str().expect("id").to_string();
    let reservation = body["reservation"].as_str().expect("reservation");
    assert!(
        h.db.release(reservation).await.expect("released"),
        "as a lost race would"
    );
    let (event, delivered) = h.stripe_control(&session, "pay").await;
    assert_eq!(delivered, json!(200));
    let order = h.db.order(&session).await.expect("read").expect("recorded");
    assert!(order.needs_attention, "stock was taken again without a check");
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(11), "the sale counts");
    let id = event["id"].as_str().expect("event id");
    let again = h
        .control(
            &format!("events/{id}/resend"),
            &json!({ "webhook_url": format!("{}/webhook", h.base) }),
        )
        .await;
    assert_eq!(again["delivered"], 200);
    let after = h.db.order(&session).await.expect("read").expect("recorded");
    assert!(
        after.needs_attention,
        "a redelivery never rewrites the order without its flag"
    );
    assert_eq!(h.remaining(CHALET, CANDLE).await, json!(11), "nor sells twice");
}
