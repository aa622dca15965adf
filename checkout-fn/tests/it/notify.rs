//! Each chalet hears of its new paid orders, on the real peers (the local SMTP server): only
//! once the payment is confirmed, only its own lines, with what it needs to hand them over, and
//! once however often Stripe delivers the event.

use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_chalet_is_told_of_its_paid_share_once() {
    // Addresses of this test's own, so tests beside it never write to them.
    let stamp = now();
    let (candles_to, soaps_to) = (
        format!("cire-{stamp}@example.org"),
        format!("savons-{stamp}@example.org"),
    );
    let mut catalogue = example_catalogue();
    for item in &mut catalogue.items {
        if item.chalet.as_str() == CHALET {
            item.chalet_email = Some(candles_to.clone());
        } else if item.chalet.as_str() == SOAPS {
            item.chalet_email = Some(soaps_to.clone());
        }
    }
    let h = Harness::start(&catalogue).await;
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 2 }, { "sku": SOAP, "quantity": 1 }],
        "fulfilment": { CHALET: "shipping", SOAPS: "pickup" }
    });
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        mailbox(&candles_to).is_empty(),
        "nothing before the payment is confirmed"
    );

    let shopper = json!({
        "name": "Anne Lambert", "phone": "+32 470 12 34 56",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    let paid = h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    let candles = arrived(&candles_to, 1).await;
    let soaps = arrived(&soaps_to, 1).await;
    assert_eq!((candles.len(), soaps.len()), (1, 1));
    let order = h.db.order(&session).await.expect("read").expect("recorded");
    let candle = &candles[0];
    assert!(candle.contains("Une commande payée vous attend"), "{candle}");
    assert!(candle.contains(&format!("Commande {}", order.reference())), "{candle}");
    assert!(candle.contains("2 × "), "the candles to prepare: {candle}");
    assert!(candle.contains("Rue Hors-Château 12"), "where to ship: {candle}");
    assert!(
        !candle.contains("savon") && !candle.contains("+32 470"),
        "nothing of the other chalet: {candle}"
    );
    assert!(
        candle.contains(&format!("/api/chalets/{CHALET}/orders.csv?token=")),
        "its private link: {candle}"
    );
    let soap = &soaps[0];
    assert!(
        soap.contains("Retrait au chalet par Anne Lambert, +32 470 12 34 56"),
        "{soap}"
    );
    assert!(!soap.contains("Rue Hors-Château"), "no address for a pickup: {soap}");

    // Stripe delivers the event again: nobody is told twice.
    let id = paid["event"]["id"].as_str().expect("event id");
    let again = h
        .control(
            &format!("events/{id}/resend"),
            &json!({ "webhook_url": format!("{}/webhook", h.base) }),
        )
        .await;
    assert_eq!(again["delivered"], 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!((mailbox(&candles_to).len(), mailbox(&soaps_to).len()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chalet_the_mail_could_not_reach_is_told_by_the_reconciler_once() {
    let stamp = now();
    let candles_to = format!("cire-retry-{stamp}@example.org");
    let mut catalogue = example_catalogue();
    for item in catalogue.items.iter_mut().filter(|i| i.chalet.as_str() == CHALET) {
        item.chalet_email = Some(candles_to.clone());
    }
    let h = Harness::start(&catalogue).await;
    // The same table, served by a function whose mail server is down.
    let down = Harness::start_with_mail(&h, "smtp://127.0.0.1:9").await;
    let created = json_of(h.http.post(format!("{down}/checkout")).json(&candles(1))).await;
    let session = created["id"].as_str().expect("a session").to_string();
    let paid = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "webhook_url": format!("{down}/webhook") }),
        )
        .await;
    assert_eq!(paid["delivered"], 200, "the order is recorded whatever the mail does");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(mailbox(&candles_to).is_empty());

    // The scheduled reconciler, with the mail server back: told once, and not again.
    let (code, out, err) = h.cli(&["reconcile"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 told now, 0 still failing"), "{out}");
    assert_eq!(arrived(&candles_to, 1).await.len(), 1);
    let (_, again, _) = h.cli(&["reconcile"]);
    assert!(!again.contains("told now"), "the order left the list: {again}");
    assert_eq!(mailbox(&candles_to).len(), 1);
}
