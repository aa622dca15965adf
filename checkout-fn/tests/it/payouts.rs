//! Statements and Connect transfers on the real peers: the stand-in keeps Stripe's balance (fees,
//! refunds, transfers, reversals) as Stripe documents it, and the figures are checked against
//! what it holds, to the cent.

use crate::common::*;
use chalet_types::Catalogue;
use serde_json::{Value, json};

/// 5 % commission.
const COMMISSION_BP: u32 = 500;
const MENU_CHALET: &str = "la-table-du-carre";

/// Stripe's fee on a card charge, worked out here on its own: 1.5 % rounded to the cent, + 25.
fn fee(cents: i64) -> i64 {
    (cents * 3 + 100) / 200 + 25
}

fn catalogue(accounts: &[(&str, &str)]) -> Catalogue {
    let mut cat = example_catalogue();
    cat.market.commission_bp = COMMISSION_BP;
    for item in &mut cat.items {
        item.stripe_account = accounts
            .iter()
            .find(|(c, _)| item.chalet.as_str() == *c)
            .map(|(_, a)| a.to_string());
    }
    cat
}

async fn refunded(h: &Harness, order: &str, refunds: usize) {
    for _ in 0..100 {
        if h.db.order(order).await.expect("read").expect("order").refunds.len() >= refunds {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the refund of {order} was never recorded");
}

async fn stripe_get(h: &Harness, path: &str) -> Value {
    json_of(h.http.get(format!("{}{path}", h.stripe)).bearer_auth(STRIPE_KEY)).await
}

fn today() -> String {
    chalet_types::Date::from_unix(now()).to_string()
}

fn cents(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("cents, not {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_of_three_chalets_a_refund_and_a_voucher_reconciles_to_the_cent() {
    let h = Harness::start_delivering(&catalogue(&[])).await;
    // Candles shipped (2 × 14.90 + 5.90) and a soap picked up (7.50): 43.20.
    let first = h
        .paid_order(
            json!({ "items": [{ "sku": CANDLE, "quantity": 2 }, { "sku": SOAP, "quantity": 1 }],
                            "fulfilment": { CHALET: "shipping", SOAPS: "pickup" } }),
        )
        .await;
    assert_eq!(first.total.cents(), 4_320);
    let voucher = h.paid_order(json!({ "items": [{ "sku": BON, "quantity": 1 }] })).await;
    let soaps = h
        .paid_order(json!({ "items": [{ "sku": SOAP, "quantity": 2 }], "fulfilment": { SOAPS: "pickup" } }))
        .await;
    let (code, out, err) = h.cli(&["refund", &first.id, "--line", &format!("{CANDLE}:1")]);
    assert_eq!(code, 0, "{out}{err}");
    refunded(&h, &first.id, 1).await;

    let day = today();
    let (code, json_out, summary) = h.cli(&["statements", "--from", &day, "--to", &day, "--format", "json"]);
    assert_eq!(code, 0, "{json_out}{summary}");
    assert!(summary.contains("reconciles to the cent"), "{summary}");
    let s: Value = serde_json::from_str(&json_out).expect("JSON");
    let chalet = |slug: &str| {
        s["chalets"]
            .as_array()
            .expect("chalets")
            .iter()
            .find(|c| c["chalet"] == slug)
            .unwrap_or_else(|| panic!("{slug} in {s}"))
            .clone()
    };
    let (candles, soap, table) = (chalet(CHALET), chalet(SOAPS), chalet(MENU_CHALET));
    assert_eq!(s["chalets"].as_array().map(Vec::len), Some(3));

    // Worked out by hand. The first order's fee (4,320 → 90) is shared 3,570 : 750 by largest
    // remainder (74.375 / 15.625 → 74 / 16); the others' fees are their chalet's alone.
    let (f1, f2, f3) = (fee(4_320), fee(5_000), fee(1_500));
    assert_eq!((f1, f2, f3), (90, 100, 48));
    assert_eq!(
        [&candles, &soap, &table].map(|c| (cents(&c["gross"]), cents(&c["refunds"]), cents(&c["fees"]))),
        [(3_570, 1_490, 74), (750 + 1_500, 0, 16 + f3), (5_000, 0, f2)]
    );
    // 5 %, half up, per order and chalet; the refund gives back the commission on 14.90 (75).
    assert_eq!(
        [&candles, &soap, &table].map(|c| cents(&c["commission"])),
        [179 - 75, 38 + 75, 250]
    );
    assert_eq!(
        [&candles, &soap, &table].map(|c| cents(&c["net"])),
        [3_570 - 1_490 - 74 - 104, 2_250 - 64 - 113, 5_000 - 100 - 250]
    );
    assert_eq!(
        [&candles, &soap, &table].map(|c| c["orders"].as_u64()),
        [Some(1), Some(2), Some(1)]
    );

    // With Stripe, independently: the stand-in's own balance transactions.
    let txns = stripe_get(&h, "/v1/balance_transactions?limit=100").await;
    let txns = txns["data"].as_array().expect("a list").clone();
    assert_eq!(txns.len(), 4, "three charges and a refund");
    let stripe_net: i64 = txns.iter().map(|t| cents(&t["net"])).sum();
    let stripe_fees: i64 = txns.iter().map(|t| cents(&t["fee"])).sum();
    assert_eq!(stripe_fees, f1 + f2 + f3);
    assert_eq!(cents(&s["balance"]["net"]), stripe_net);
    assert_eq!(
        cents(&s["totals"]["net"]) + cents(&s["totals"]["commission"]),
        stripe_net,
        "what the chalets are owed and the commission are Stripe's net, to the cent"
    );
    // With the orders.
    assert_eq!(s["orders_in_period"], 3);
    assert_eq!(
        cents(&s["orders_total"]),
        first.total.cents() + voucher.total.cents() + soaps.total.cents()
    );
    assert_eq!(cents(&s["totals"]["gross"]), cents(&s["orders_total"]));
    assert_eq!(s["problems"], json!([]));

    // The CSV says the same; the HTML page too, escaped.
    let (_, csv, _) = h.cli(&["statements", "--from", &day, "--to", &day]);
    let total = csv.lines().find(|l| l.starts_with("TOTAL,")).expect("a TOTAL row");
    let net = cents(&s["totals"]["net"]);
    assert!(total.contains(&format!(",{}.{:02},", net / 100, net % 100)), "{total}");
    let (code, page, _) = h.cli(&["statements", "--from", &day, "--to", &day, "--format", "html"]);
    assert_eq!(code, 0);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("reconciles to the cent"));

    // A period without the sales has none of them; bad dates are refused.
    let (code, out, _) = h.cli(&[
        "statements",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-31",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON")["chalets"], json!([]));
    assert_eq!(h.cli(&["statements", "--from", &day, "--to", "2020-01-01"]).0, 2);
    assert_eq!(h.cli(&["statements", "--from", "31/12/2026", "--to", &day]).0, 2);
}

async fn transfers(h: &Harness) -> (String, String) {
    let (code, out, err) = h.cli(&["transfers"]);
    assert_eq!(code, 0, "{out}{err}");
    (out, err)
}

async fn transfers_of(h: &Harness, order: &str) -> Vec<Value> {
    let list = stripe_get(h, &format!("/v1/transfers?transfer_group={order}&limit=100")).await;
    list["data"].as_array().expect("a list").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chalets_are_paid_once_refunds_reverse_and_an_empty_balance_is_netted_next_time() {
    let stripe = private_standin().await;
    let http = reqwest::Client::new();
    let mut accounts = Vec::new();
    for chalet in [CHALET, SOAPS] {
        let made = json_of(http.post(format!("{stripe}/__control/accounts")).json(&json!({}))).await;
        accounts.push((chalet, made["id"].as_str().expect("an account").to_string()));
    }
    let accounts_ref: Vec<(&str, &str)> = accounts.iter().map(|(c, a)| (*c, a.as_str())).collect();
    let h = Harness::start_with_stripe(&catalogue(&accounts_ref), stripe).await;
    h.control("webhooks", &json!({ "url": format!("{}/webhook", h.base) }))
        .await;
    let (candle_acct, soap_acct) = (accounts[0].1.clone(), accounts[1].1.clone());

    let first = h
        .paid_order(json!({ "items": [{ "sku": CANDLE, "quantity": 2 }, { "sku": SOAP, "quantity": 1 }, { "sku": BON, "quantity": 1 }],
                            "fulfilment": { CHALET: "shipping", SOAPS: "pickup" } }))
        .await;
    // 3,570 + 750 + 5,000 = 9,320; fee 165 shared 3,570 : 750 : 5,000.
    let f = fee(9_320);
    assert_eq!(f, 165);

    // A dry run sends nothing.
    let (code, out, _) = h.cli(&["transfers", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("would transfer"), "{out}");
    assert!(transfers_of(&h, &first.id).await.is_empty());

    // Twice: two transfers (the restaurant has no account: it is paid by hand), made once.
    let (out, _) = transfers(&h).await;
    assert_eq!(out.matches("transfer ").count(), 2, "{out}");
    let (again, _) = transfers(&h).await;
    assert!(again.starts_with("0 step(s)"), "{again}");
    let made = transfers_of(&h, &first.id).await;
    assert_eq!(made.len(), 2, "{made:?}");
    let to = |acct: &str| {
        made.iter()
            .find(|t| t["destination"] == acct)
            .expect("a transfer")
            .clone()
    };
    let (candle_t, soap_t) = (to(&candle_acct), to(&soap_acct));
    // Fee shares: 165 × 3,570 / 9,320 = 63.20, × 750 / 9,320 = 13.28, × 5,000 / 9,320 = 88.52 →
    // 63 / 13 / 89. Commission 179 and 38 (5 %, half up).
    assert_eq!(cents(&candle_t["amount"]), 3_570 - 63 - 179);
    assert_eq!(cents(&soap_t["amount"]), 750 - 13 - 38);
    let charge = stripe_get(
        &h,
        &format!(
            "/v1/charges?payment_intent={}",
            first.payment_intent.as_deref().unwrap_or("")
        ),
    )
    .await;
    let charge_id = charge["data"][0]["id"].clone();
    for t in [&candle_t, &soap_t] {
        assert_eq!(t["source_transaction"], charge_id);
        assert_eq!(t["transfer_group"], json!(first.id));
    }

    // A candle refunded after the transfer: its part (14.90 less its commission) is reversed, once.
    let (code, out, err) = h.cli(&["refund", &first.id, "--line", &format!("{CANDLE}:1")]);
    assert_eq!(code, 0, "{out}{err}");
    refunded(&h, &first.id, 1).await;
    let (out, _) = transfers(&h).await;
    assert!(out.contains("reverse "), "{out}");
    transfers(&h).await;
    let candle_now = stripe_get(&h, &format!("/v1/transfers/{}", candle_t["id"].as_str().unwrap_or(""))).await;
    assert_eq!(cents(&candle_now["amount_reversed"]), 1_490 - 75);
    assert_eq!(candle_now["reversals"]["data"].as_array().map(Vec::len), Some(1));

    // The soap maker's balance goes to the bank; then the soap is refunded: Stripe refuses the
    // reversal, so it is owed back and netted on the next transfer.
    json_of(http.post(format!("{}/__control/accounts/{soap_acct}/payout", h.stripe))).await;
    let (code, out, err) = h.cli(&["refund", &first.id, "--line", SOAP]);
    assert_eq!(code, 0, "{out}{err}");
    refunded(&h, &first.id, 2).await;
    let (out, _) = transfers(&h).await;
    assert!(out.contains(&format!("owed back {} {SOAPS} 7.12", first.id)), "{out}");
    let soap_now = stripe_get(&h, &format!("/v1/transfers/{}", soap_t["id"].as_str().unwrap_or(""))).await;
    assert_eq!(cents(&soap_now["amount_reversed"]), 0);
    let debt =
        h.db.debt(&chalet_types::Slug::parse(SOAPS).expect("slug"))
            .await
            .expect("read");
    assert_eq!(debt.cents(), 750 - 38);

    let second = h
        .paid_order(json!({ "items": [{ "sku": SOAP, "quantity": 2 }], "fulfilment": { SOAPS: "pickup" } }))
        .await;
    transfers(&h).await;
    let next = transfers_of(&h, &second.id).await;
    assert_eq!(next.len(), 1);
    // 1,500 less its fee (48) and commission (75), less the 7.12 owed.
    assert_eq!(cents(&next[0]["amount"]), 1_500 - fee(1_500) - 75 - 712);
    let debt =
        h.db.debt(&chalet_types::Slug::parse(SOAPS).expect("slug"))
            .await
            .expect("read");
    assert_eq!(debt.cents(), 0);

    // The period's statement counts the transfers and still reconciles.
    let day = today();
    let (code, out, summary) = h.cli(&["statements", "--from", &day, "--to", &day, "--format", "json"]);
    assert_eq!(code, 0, "{summary}");
    let s: Value = serde_json::from_str(&out).expect("JSON");
    let sent: i64 = [&candle_t, &soap_t, &next[0]].iter().map(|t| cents(&t["amount"])).sum();
    assert_eq!(cents(&s["totals"]["transferred"]), sent - (1_490 - 75));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_is_no_chalet_s_and_the_statement_still_reconciles() {
    let h = Harness::start_delivering(&catalogue(&[])).await;
    let order = h.paid_order(json!({ "items": [{ "sku": BON, "quantity": 1 }] })).await;
    let pi = order.payment_intent.clone().expect("a payment");
    let opened = h.control(&format!("payment_intents/{pi}/dispute"), &json!({})).await;
    assert_eq!(opened["delivered"], 200, "{opened}");
    let day = today();
    let statement = |h: &Harness| {
        let (code, out, summary) = h.cli(&["statements", "--from", &day, "--to", &day, "--format", "json"]);
        assert_eq!(code, 0, "{summary}");
        serde_json::from_str::<Value>(&out).expect("JSON")
    };
    let s = statement(&h);
    let others = s["others"].as_array().expect("others").clone();
    assert_eq!(others.len(), 1, "{s}");
    assert_eq!(others[0]["kind"], "adjustment");
    assert_eq!(cents(&others[0]["amount"]), -5_000);
    assert_eq!(cents(&others[0]["fee"]), 2_000, "Stripe's dispute fee in the EEA");
    // The restaurant is still shown what it sold; the chargeback is the organisers' to handle.
    assert_eq!(cents(&s["totals"]["gross"]), 5_000);
    assert_eq!(
        cents(&s["totals"]["net"]) + cents(&s["totals"]["commission"]) + cents(&s["balance"]["other"]),
        cents(&s["balance"]["net"])
    );

    // Won: the amount comes back, the fee does not.
    let dispute = opened["event"]["data"]["object"]["id"]
        .as_str()
        .expect("dispute id")
        .to_string();
    h.control(&format!("disputes/{dispute}/close"), &json!({ "status": "won" }))
        .await;
    let s = statement(&h);
    assert_eq!(s["others"].as_array().map(Vec::len), Some(2));
    assert_eq!(cents(&s["balance"]["other"]), -2_000);
    assert_eq!(s["problems"], json!([]));
}
