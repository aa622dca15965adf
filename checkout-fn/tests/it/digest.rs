//! A chalet that asked for it gets one e-mail with the day's orders, on the real peers (the
//! local SMTP server): only its own, only that day's, with what is still to hand over; once per
//! day however often the command runs; nothing for a day without orders or a chalet that did
//! not ask.

use crate::common::*;
use chalet_types::Date;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chalet_that_asked_gets_the_day_s_orders_once() {
    let stamp = now();
    let (candles_to, soaps_to) = (
        format!("digest-cire-{stamp}@example.org"),
        format!("digest-savons-{stamp}@example.org"),
    );
    let mut catalogue = example_catalogue();
    for item in &mut catalogue.items {
        if item.chalet.as_str() == CHALET {
            item.chalet_email = Some(candles_to.clone());
            item.chalet_digest = true;
        } else if item.chalet.as_str() == SOAPS {
            item.chalet_email = Some(soaps_to.clone());
        }
    }
    let h = Harness::start_delivering(&catalogue).await;
    let first = h
        .paid_order(json!({ "items": [{ "sku": CANDLE, "quantity": 2 }], "fulfilment": { CHALET: "pickup" } }))
        .await;
    let second = h
        .paid_order(json!({
            "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": SOAP, "quantity": 1 }],
            "fulfilment": { CHALET: "pickup", SOAPS: "pickup" }
        }))
        .await;
    // Each order's own e-mail came first, as always.
    assert_eq!(arrived(&candles_to, 2).await.len(), 2);
    // The first order is handed over: one of the candle maker's two still waits.
    let (status, said) = h
        .post_json(
            &format!("/chalets/{CHALET}/orders/{}/handover", first.id),
            &json!({ "token": token(CHALET), "status": "ready" }),
        )
        .await;
    assert_eq!(status, 200, "{said}");
    let day = Date::parse(&first.created[..10]).expect("the order's day");

    // A day without orders, and a dry run: nothing sent.
    let (code, out, err) = h.cli(&["digest", "--date", "2020-01-01"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("{CHALET}\t0 order(s)\tno order: nothing sent")),
        "{out}"
    );
    assert!(!out.contains(SOAPS), "the soap maker did not ask: {out}");
    let (code, out, _) = h.cli(&["digest", "--date", &day.to_string(), "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{CHALET}\t2 order(s)\twould send")), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mailbox(&candles_to).len(), 2);

    let (code, out, err) = h.cli(&["digest", "--date", &day.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("{CHALET}\t2 order(s)\tsent")), "{out}");
    let mails = arrived(&candles_to, 3).await;
    assert_eq!(mails.len(), 3);
    let digest = &mails[2];
    assert!(digest.contains("Les commandes payées au"), "{digest}");
    assert!(digest.contains(&day.format(chalet_types::Language::Fr)), "{digest}");
    for order in [&first, &second] {
        assert!(digest.contains(&format!("Commande {}", order.reference())), "{digest}");
    }
    assert!(
        digest.contains("Vendu ce jour-là: 3 × Bougie « Sapin des Fagnes » — 44,70"),
        "the day's quantities and amount (3 × 14.90): {digest}"
    );
    assert!(
        digest.contains("Commandes encore à remettre (tous jours confondus): 1"),
        "{digest}"
    );
    assert!(
        digest.contains(&format!("/atelier/#chalet={CHALET}&token=")),
        "its private page: {digest}"
    );
    assert!(
        !digest.to_lowercase().contains("savon"),
        "nothing of the other chalet: {digest}"
    );

    // Again (a retried schedule, a second run by hand): not sent twice.
    let (code, out, _) = h.cli(&["digest", "--date", &day.to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{CHALET}\t2 order(s)\talready sent")), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mailbox(&candles_to).len(), 3);
    assert_eq!(mailbox(&soaps_to).len(), 1, "the soap maker: its order's e-mail only");
}
