//! The artisan marks its share ready for pickup or shipped; the shopper is told each time the
//! state changes, once; the chalet's list shows it; a state that does not fit is refused.

use crate::common::*;
use serde_json::{Value, json};

async fn mark(h: &Harness, chalet: &str, order: &str, body: Value) -> (u16, Value) {
    let mut body = body;
    if body.get("token").is_none() {
        body["token"] = json!(token(chalet));
    }
    h.post_json(&format!("/chalets/{chalet}/orders/{order}/handover"), &body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_shipped_reach_the_shopper_once_each() {
    let h = Harness::start(&example_catalogue()).await;
    let shopper_email = format!("anne-{}@example.org", now());
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": SOAP, "quantity": 1 }],
        "fulfilment": { CHALET: "shipping", SOAPS: "pickup" }
    });
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let order = created["id"].as_str().expect("id").to_string();
    let shopper = json!({
        "name": "Anne Lambert", "phone": "+32 470 12 34 56", "email": shopper_email,
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    assert_eq!(
        h.control(&format!("checkout/sessions/{order}/pay"), &shopper).await["delivered"],
        200
    );
    let receipts = arrived(&shopper_email, 1).await.len();

    // The soap chalet: ready for pickup; said twice, told once.
    let (status, answer) = mark(&h, SOAPS, &order, json!({ "status": "ready" })).await;
    assert_eq!((status, answer["changed"].as_bool()), (200, Some(true)), "{answer}");
    let (status, again) = mark(&h, SOAPS, &order, json!({ "status": "ready" })).await;
    assert_eq!((status, again["changed"].as_bool()), (200, Some(false)));
    let mails = arrived(&shopper_email, receipts + 1).await;
    assert_eq!(mails.len(), receipts + 1, "one e-mail for the pickup");
    let ready = mails.last().expect("a mail");
    assert!(ready.contains("a préparé votre commande"), "{ready}");
    assert!(ready.contains("Retrait au chalet"), "where to pick it up: {ready}");

    // The candle chalet: shipped, with its tracking link.
    let (status, _) = mark(
        &h,
        CHALET,
        &order,
        json!({ "status": "shipped", "tracking_url": "https://track.example/XY12" }),
    )
    .await;
    assert_eq!(status, 200);
    let mails = arrived(&shopper_email, receipts + 2).await;
    assert_eq!(mails.len(), receipts + 2);
    let shipped = mails.last().expect("a mail");
    assert!(
        shipped.contains("a expédié votre commande") && shipped.contains("https://track.example/XY12"),
        "{shipped}"
    );

    // The list shows it, as JSON and CSV.
    let (_, list) = h
        .get(&format!("/chalets/{CHALET}/orders?token={}", token(CHALET)))
        .await;
    assert_eq!(list["orders"][0]["handover"], "shipped");
    assert_eq!(list["orders"][0]["tracking_url"], "https://track.example/XY12");

    // Refused: a state that does not fit, a tracking link on a pickup, bad tokens, no order.
    for (chalet, body, status, code) in [
        (CHALET, json!({ "status": "ready" }), 422, "invalid_handover"),
        (SOAPS, json!({ "status": "shipped" }), 422, "invalid_handover"),
        (
            SOAPS,
            json!({ "status": "ready", "tracking_url": "https://t.example/1" }),
            422,
            "invalid_handover",
        ),
        (
            CHALET,
            json!({ "status": "shipped", "tracking_url": "javascript:alert(1)" }),
            422,
            "invalid_handover",
        ),
        (CHALET, json!({ "status": "lost" }), 422, "invalid_handover"),
        (
            CHALET,
            json!({ "status": "shipped", "token": token(SOAPS) }),
            403,
            "forbidden",
        ),
    ] {
        let (got, answer) = mark(&h, chalet, &order, body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (got, answer) = mark(&h, CHALET, "cs_test_nosuchorder", json!({ "status": "shipped" })).await;
    assert_eq!((got, answer["error"]["code"].as_str()), (404, Some("order_not_found")));
    assert_eq!(
        mailbox(&shopper_email).len(),
        receipts + 2,
        "no mail for refused requests"
    );
}
