//! After the sale, on the real peers: `checkout-fn refund` asks Stripe (the stand-in) for a
//! refund, and the `charge.refunded` event does the bookkeeping — codes voided, goods restocked
//! when asked — exactly as for a refund made in the dashboard; disputes are recorded and void the
//! order's codes.

use crate::common::*;
use chalet_types::table::CodeStatus;
use chalet_types::{Order, VoucherCode};
use serde_json::json;

async fn harness() -> Harness {
    Harness::start_delivering(&example_catalogue()).await
}

fn codes<'a>(order: &'a Order, sku: &str) -> &'a [VoucherCode] {
    &order
        .lines
        .iter()
        .find(|l| l.sku.to_string() == sku)
        .expect("line")
        .voucher_codes
}

async fn statuses(h: &Harness, codes: &[VoucherCode]) -> Vec<CodeStatus> {
    let mut out = Vec::new();
    for c in codes {
        out.push(h.db.code_status(c).await.expect("read").expect("a code"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunding_one_voucher_line_voids_its_codes_only_and_a_dashboard_refund_does_the_same() {
    let h = harness().await;
    let order = h
        .paid_order(json!({ "items": [{ "sku": MENU, "quantity": 1 }, { "sku": BON, "quantity": 2 }] }))
        .await;
    let (menu, bon) = (codes(&order, MENU).to_vec(), codes(&order, BON).to_vec());
    assert_eq!((menu.len(), bon.len()), (1, 2));

    // The organiser refunds the menu: the CLI asks Stripe, the event voids its code.
    let (code, out, err) = h.cli(&["refund", &order.id, "--line", MENU]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("refund re_") && out.contains(&format!("{MENU}:1")),
        "{out}"
    );
    assert_eq!(statuses(&h, &menu).await, vec![CodeStatus::Voided]);
    assert_eq!(
        statuses(&h, &bon).await,
        vec![CodeStatus::Issued; 2],
        "the other line stays valid"
    );
    let after = h.db.order(&order.id).await.expect("read").expect("order");
    assert_eq!(after.refunds.len(), 1);
    assert_eq!(after.refunds[0].amount.cents(), 5500);
    assert_eq!(after.refunds[0].lines[0].sku.to_string(), MENU);

    // A refund made in the dashboard (straight at Stripe, no metadata) for the two vouchers.
    let pi = order.payment_intent.clone().expect("a payment");
    let r = json_of(
        h.http
            .post(format!("{}/v1/refunds", h.stripe))
            .bearer_auth(STRIPE_KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("payment_intent={pi}&amount=10000")),
    )
    .await;
    assert_eq!(r["status"], "succeeded", "{r}");
    assert_eq!(statuses(&h, &bon).await, vec![CodeStatus::Voided; 2]);
    let after = h.db.order(&order.id).await.expect("read").expect("order");
    assert_eq!(after.refunds.len(), 2);
    assert!(!after.needs_attention, "the amount matched the line");

    // More than is left is refused by Stripe, and the CLI says so.
    let (code, _, err) = h.cli(&["refund", &order.id, "--line", MENU]);
    assert_ne!(code, 0);
    assert!(err.contains("0 unit(s) left"), "{err}");

    // Redelivering every charge.refunded event changes nothing.
    let events = h.stripe_events().await;
    let refunded: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "charge.refunded")
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(refunded.len(), 2);
    for id in refunded {
        let again = h.control(&format!("events/{id}/resend"), &json!({})).await;
        assert_eq!(again["delivered"], 200, "{again}");
    }
    assert_eq!(h.db.order(&order.id).await.expect("read").expect("order"), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_is_recorded_voids_the_codes_and_its_closing_is_recorded() {
    let h = harness().await;
    let order = h.paid_order(json!({ "items": [{ "sku": MENU, "quantity": 2 }] })).await;
    let pi = order.payment_intent.clone().expect("a payment");
    let opened = h
        .control(
            &format!("payment_intents/{pi}/dispute"),
            &json!({ "reason": "fraudulent" }),
        )
        .await;
    assert_eq!(opened["delivered"], 200, "{opened}");
    let disputed = h.db.order(&order.id).await.expect("read").expect("order");
    assert_eq!(disputed.disputes.len(), 1);
    assert_eq!(disputed.disputes[0].status, "needs_response");
    assert_eq!(disputed.disputes[0].amount, order.total);
    assert_eq!(statuses(&h, codes(&order, MENU)).await, vec![CodeStatus::Voided; 2]);

    let id = opened["event"]["data"]["object"]["id"].as_str().expect("dispute id");
    let closed = h
        .control(&format!("disputes/{id}/close"), &json!({ "status": "won" }))
        .await;
    assert_eq!(closed["delivered"], 200, "{closed}");
    let after = h.db.order(&order.id).await.expect("read").expect("order");
    assert_eq!(after.disputes.len(), 1, "the same dispute, updated");
    assert_eq!(after.disputes[0].status, "won");
    // The same event again: nothing changes.
    let event_id = closed["event"]["id"].as_str().expect("event id");
    let again = h.control(&format!("events/{event_id}/resend"), &json!({})).await;
    assert_eq!(again["delivered"], 200);
    assert_eq!(h.db.order(&order.id).await.expect("read").expect("order"), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_with_restock_puts_the_goods_back_once() {
    let h = harness().await;
    let order = h
        .paid_order(
            json!({ "items": [{ "sku": CANDLE, "quantity": 2 }], "fulfilment": { "la-cire-d-outremeuse": "pickup" } }),
        )
        .await;
    assert_eq!(h.remaining("la-cire-d-outremeuse", CANDLE).await, json!(10));
    let (code, out, err) = h.cli(&["refund", &order.id, "--line", &format!("{CANDLE}:1"), "--restock"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        h.remaining("la-cire-d-outremeuse", CANDLE).await,
        json!(11),
        "one candle back"
    );
    let after = h.db.order(&order.id).await.expect("read").expect("order");
    assert!(after.refunds[0].restocked);
    // The rest, not restocked (a broken candle): refunded, the stock unchanged.
    let (code, out, err) = h.cli(&["refund", &order.id]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.remaining("la-cire-d-outremeuse", CANDLE).await, json!(11));
    let after = h.db.order(&order.id).await.expect("read").expect("order");
    assert_eq!(after.refunds.len(), 2);
    assert_eq!(after.refunds[1].lines[0].quantity, 1);
}
