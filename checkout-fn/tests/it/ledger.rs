//! The organisers' list of every line sold, on the real peers: chalets, amounts, fulfilment and
//! where each order stands, as CSV and JSON that agree, filtered by chalet and date.

use crate::common::*;
use serde_json::{Value, json};

async fn paid(h: &Harness, basket: Value) -> String {
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let shopper = json!({
        "name": "Anne Lambert", "phone": "+32 470 12 34 56",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    assert_eq!(
        h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await["delivered"],
        200
    );
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_sold_is_listed_with_its_chalet_amounts_and_state() {
    let h = Harness::start_private(&example_catalogue()).await;
    h.control("webhooks", &json!({ "url": format!("{}/webhook", h.base) }))
        .await;
    let first = paid(
        &h,
        json!({ "items": [{ "sku": CANDLE, "quantity": 2 }, { "sku": SOAP, "quantity": 1 }],
                "fulfilment": { CHALET: "shipping", SOAPS: "pickup" } }),
    )
    .await;
    let second = paid(&h, json!({ "items": [{ "sku": BON, "quantity": 1 }] })).await;
    let (code, out, err) = h.cli(&["refund", &second, "--line", BON]);
    assert_eq!(code, 0, "{out}{err}");
    for _ in 0..50 {
        let order = h.db.order(&second).await.expect("read").expect("recorded");
        if !order.refunds.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let (code, json_out, err) = h.cli(&["orders", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&json_out).expect("JSON");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let row = |sku: &str| rows.iter().find(|r| r["sku"] == sku).expect("a row").clone();
    let (candle, soap, bon) = (row(CANDLE), row(SOAP), row(BON));
    assert_eq!(
        (candle["order"].as_str(), candle["chalet"].as_str()),
        (Some(first.as_str()), Some(CHALET))
    );
    assert_eq!(candle["quantity"], 2);
    assert_eq!(candle["line_total"], candle["unit_price"].as_i64().expect("cents") * 2);
    assert_eq!(candle["fulfilment"], "shipping");
    assert_eq!(soap["fulfilment"], "pickup");
    assert_eq!(candle["status"], "paid");
    assert_eq!(
        (bon["refunded"].as_u64(), bon["status"].as_str()),
        (Some(1), Some("refunded"))
    );

    // The CSV says the same, in euros.
    let (_, csv, _) = h.cli(&["orders"]);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + rows.len());
    assert!(lines[0].starts_with("order,created,chalet,sku,product,quantity,unit_price,line_total"));
    let candle_csv = lines.iter().find(|l| l.contains(CANDLE)).expect("the candle's row");
    let cents = candle["line_total"].as_i64().expect("cents");
    assert!(
        candle_csv.contains(&format!(
            ",2,{}.{:02},{}.{:02},0,shipping,",
            cents / 200,
            cents / 2 % 100,
            cents / 100,
            cents % 100
        )),
        "{candle_csv}"
    );

    // Filtered by chalet and by date.
    let (_, soaps, _) = h.cli(&["orders", "--chalet", SOAPS, "--format", "json"]);
    let soaps: Vec<Value> = serde_json::from_str(&soaps).expect("JSON");
    assert_eq!(soaps.len(), 1);
    assert_eq!(soaps[0]["sku"], SOAP);
    let (_, later, _) = h.cli(&["orders", "--since", "2099-01-01", "--format", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&later).expect("JSON"), json!([]));
    assert_eq!(h.cli(&["orders", "--since", "24/12/2026"]).0, 2);
}
