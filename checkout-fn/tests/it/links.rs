//! Artisans' private links: a chalet's token shows that chalet's orders and no other's, as
//! JSON and as CSV that agree; a tampered token, another chalet's, or one made with an old key
//! is refused.

use crate::common::*;
use chalet_types::Slug;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chalet_s_link_shows_its_orders_only_and_a_bad_one_is_refused() {
    let h = Harness::start(&example_catalogue()).await;
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 2 }, { "sku": SOAP, "quantity": 1 }],
        "fulfilment": { CHALET: "shipping", SOAPS: "pickup" }
    });
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

    let slug = |s: &str| Slug::parse(s).expect("slug");
    let (status, candles) = h
        .get(&format!("/chalets/{CHALET}/orders?token={}", token(CHALET)))
        .await;
    assert_eq!(status, 200, "{candles}");
    let orders = candles["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1);
    let lines = orders[0]["lines"].as_array().expect("lines");
    assert_eq!(
        lines.len(),
        1,
        "the candle chalet sees its candle line, not the soap: {lines:?}"
    );
    assert_eq!(lines[0]["sku"], CANDLE);
    assert_eq!(orders[0]["ship_to"]["line1"], "Rue Hors-Château 12");
    let text = candles.to_string();
    assert!(
        !text.contains("savon") && !text.contains("+32 470"),
        "nothing of the other chalet: {text}"
    );

    // The CSV agrees with the JSON: one row per line, the same amounts.
    let csv = h
        .http
        .get(format!(
            "{}/api/chalets/{CHALET}/orders.csv?token={}",
            h.base,
            token(CHALET)
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(csv.headers()["cache-control"], "private, no-store");
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let body = csv.text().await.expect("text");
    let rows: Vec<&str> = body.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 1 + lines.len());
    let cells: Vec<&str> = rows[1].split(',').collect();
    let unit = lines[0]["unit_price"].as_i64().expect("cents");
    assert_eq!(cells[2], CANDLE);
    assert_eq!(cells[4], "2");
    assert_eq!(cells[5], format!("{}.{:02}", unit / 100, unit % 100));
    assert_eq!(cells[6], format!("{}.{:02}", unit * 2 / 100, unit * 2 % 100));

    // Refused: another chalet's token, a tampered one, none, one made with another key.
    let mut tampered = token(CHALET);
    tampered.replace_range(0..1, if tampered.starts_with('0') { "1" } else { "0" });
    let old_key = checkout_fn::links::token("an-old-key-that-was-rotated-away-0123456", &slug(CHALET));
    for bad in [token(SOAPS), tampered, old_key, String::new()] {
        let (status, answer) = h.get(&format!("/chalets/{CHALET}/orders?token={bad}")).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{bad}"
        );
        let (status, _) = h.get(&format!("/chalets/{CHALET}/orders.csv?token={bad}")).await;
        assert_eq!(status, 403);
    }
    let (status, _) = h.get(&format!("/chalets/{CHALET}/orders")).await;
    assert_eq!(status, 403);

    // The artisans' page sends the token as a bearer header, never in the address: the same
    // answer, and the same refusals.
    let bearer = |t: String| {
        h.http
            .get(format!("{}/chalets/{CHALET}/orders", h.base))
            .header("authorization", format!("Bearer {t}"))
            .send()
    };
    let by_header = bearer(token(CHALET)).await.expect("request");
    assert_eq!(by_header.status().as_u16(), 200);
    let by_header: Value = by_header.json().await.expect("json");
    let (_, by_query) = h
        .get(&format!("/chalets/{CHALET}/orders?token={}", token(CHALET)))
        .await;
    assert_eq!(by_header, by_query);
    assert_eq!(bearer(token(SOAPS)).await.expect("request").status().as_u16(), 403);

    // The soap chalet's link shows its pickup: the shopper's name and phone, no address.
    let (_, soaps) = h.get(&format!("/chalets/{SOAPS}/orders?token={}", token(SOAPS))).await;
    assert_eq!(soaps["orders"][0]["phone"], "+32 470 12 34 56");
    assert!(soaps["orders"][0].get("ship_to").is_none(), "{soaps}");

    // The organisers' command prints each chalet's links, whose tokens open them.
    let catalogue = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        catalogue.path(),
        serde_json::to_string(&example_catalogue()).expect("json"),
    )
    .expect("write");
    let (code, out, err) = h.cli(&["links", "--catalogue", &catalogue.path().to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{CHALET}\t")))
        .expect("the candle chalet's line");
    assert!(
        line.contains(&format!("/atelier/#chalet={CHALET}&token={}\t", token(CHALET))),
        "the artisans' page, the token in the fragment: {line}"
    );
    assert!(
        line.contains(&format!("/api/chalets/{CHALET}/orders.csv?token={}", token(CHALET))),
        "{line}"
    );
    assert!(out.lines().count() >= 10, "every chalet of the catalogue: {out}");
}
