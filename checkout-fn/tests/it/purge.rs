//! Personal data kept no longer than needed: past the retention period an order keeps its lines
//! and amounts and loses its shopper's name, e-mail, phone, address and gift notes, in the order
//! and in every chalet's share; a dry run only says which.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_order_keeps_its_accounts_and_loses_its_shopper() {
    let h = Harness::start(&example_catalogue()).await;
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": SOAP, "quantity": 2 }],
        "fulfilment": { CHALET: "shipping", SOAPS: "pickup" },
        "gift_notes": { CHALET: "Joyeux Noël, Mamy" }
    });
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let shopper = json!({
        "name": "Anne Lambert", "phone": "+32 470 12 34 56", "email": "anne@example.org",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    assert_eq!(
        h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await["delivered"],
        200
    );
    let before = h.db.order(&session).await.expect("read").expect("recorded");
    assert!(before.email.is_some() && before.ship_to.is_some() && before.phone.is_some());

    // Not yet past one day; a dry run of zero days says which and changes nothing.
    let (code, out, err) = h.cli(&["purge", "--days", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 order(s) older than 1 days"), "{out}");
    let (_, dry, _) = h.cli(&["purge", "--days", "0", "--dry-run"]);
    assert!(
        dry.contains(&format!("order {}: would erase", before.reference())),
        "{dry}"
    );
    assert_eq!(h.db.order(&session).await.expect("read").expect("recorded"), before);

    let (code, out, err) = h.cli(&["purge", "--days", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 order(s) older than 0 days: erased"), "{out}");
    let after = h.db.order(&session).await.expect("read").expect("recorded");
    assert_eq!(
        (&after.email, &after.name, &after.phone, &after.ship_to),
        (&None, &None, &None, &None)
    );
    assert!(after.fulfilment.iter().all(|f| f.gift_note.is_none()));
    assert_eq!(
        (after.lines.clone(), after.total),
        (before.lines.clone(), before.total),
        "the accounts stay"
    );
    for chalet in [CHALET, SOAPS] {
        let shares = h.db.index_rows(&format!("CHALET#{chalet}")).await.expect("shares");
        let text = Value::Array(shares.clone()).to_string();
        assert!(
            !text.contains("Anne")
                && !text.contains("+32 470")
                && !text.contains("Hors-Château")
                && !text.contains("Mamy"),
            "{text}"
        );
        assert!(
            !shares[0]["lines"].as_array().expect("lines").is_empty(),
            "the share's lines stay"
        );
    }
    let (_, ledger, _) = h.cli(&["orders", "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&ledger).expect("JSON");
    assert_eq!(rows.len(), 2, "the books still list both lines");
    let (_, again, _) = h.cli(&["purge", "--days", "0"]);
    assert!(again.contains("0 order(s)"), "nothing personal is left: {again}");
}
