//! Every paid order can be handed over: Checkout collects an address when something ships and a
//! phone when goods are picked up; each chalet's share holds what that artisan needs and no more.

use crate::common::*;
use serde_json::{Value, json};

fn param(params: &[(String, String)], key: &str) -> Option<String> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipping_and_a_pickup_chalet_collect_address_and_phone_and_share_only_what_each_needs() {
    let h = Harness::start(&example_catalogue()).await;
    let basket = json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": SOAP, "quantity": 2 }],
        "fulfilment": { CHALET: "shipping", "savonnerie-du-pont-d-avroy": "pickup" }
    });
    let (status, created) = h.post_json("/checkout", &basket).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let params = h.create_params(&session).await;
    let countries: Vec<String> = (0..5)
        .filter_map(|i| param(&params, &format!("shipping_address_collection[allowed_countries][{i}]")))
        .collect();
    assert_eq!(countries, ["BE", "NL", "LU", "FR", "DE"], "market.yaml's default");
    assert_eq!(
        param(&params, "phone_number_collection[enabled]").as_deref(),
        Some("true")
    );

    let shopper = json!({
        "name": "Anne Lambert",
        "phone": "+32 470 12 34 56",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{}/webhook", h.base)
    });
    let paid = h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    assert_eq!(
        paid["event"]["data"]["object"]["collected_information"]["shipping_details"]["address"]["line1"],
        "Rue Hors-Château 12",
        "where Stripe puts it for the pinned API version"
    );

    let shipping = h.db.index_rows(&format!("CHALET#{CHALET}")).await.expect("index");
    assert_eq!(shipping.len(), 1);
    assert_eq!(shipping[0]["ship_to"]["line1"], "Rue Hors-Château 12");
    assert_eq!(shipping[0]["ship_to"]["name"], "Anne Lambert");
    assert!(shipping[0].get("phone").is_none(), "{}", shipping[0]);
    let pickup =
        h.db.index_rows("CHALET#savonnerie-du-pont-d-avroy")
            .await
            .expect("index");
    assert_eq!(pickup[0]["name"], "Anne Lambert");
    assert_eq!(pickup[0]["phone"], "+32 470 12 34 56");
    assert!(
        pickup[0].get("ship_to").is_none(),
        "no address where none is needed: {}",
        pickup[0]
    );

    let (status, order) = h.get(&format!("/orders/{session}")).await;
    assert_eq!(status, 200, "{order}");
    let share = |chalet: &str| -> Value {
        order["chalets"]
            .as_array()
            .and_then(|c| c.iter().find(|s| s["chalet"] == chalet))
            .cloned()
            .expect("share")
    };
    assert_eq!(share(CHALET)["ship_to"]["city"], "Liège");
    assert!(share("savonnerie-du-pont-d-avroy").get("ship_to").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_asks_no_address_and_vouchers_ask_neither() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, created) = h.post_json("/checkout", &candles(1)).await;
    let params = h.create_params(created["id"].as_str().expect("id")).await;
    assert!(
        !params.iter().any(|(k, _)| k.starts_with("shipping_address_collection")),
        "{params:?}"
    );
    assert_eq!(
        param(&params, "phone_number_collection[enabled]").as_deref(),
        Some("true")
    );

    let (_, created) = h
        .post_json("/checkout", &json!({ "items": [{ "sku": MENU, "quantity": 1 }] }))
        .await;
    let params = h.create_params(created["id"].as_str().expect("id")).await;
    assert!(
        !params
            .iter()
            .any(|(k, _)| k.starts_with("shipping_address_collection") || k.starts_with("phone_number")),
        "a voucher is e-mailed: {params:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_page_refuses_an_address_outside_the_allowed_countries() {
    let h = Harness::start(&example_catalogue()).await;
    let (_, created) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": CANDLE, "quantity": 1 }], "fulfilment": { CHALET: "shipping" } }),
        )
        .await;
    let session = created["id"].as_str().expect("id");
    let refused = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "address": { "line1": "1 Main St", "postal_code": "10001", "city": "New York", "country": "US" } }),
        )
        .await;
    assert_eq!(refused["error"]["type"], "invalid_request_error", "{refused}");
    assert_eq!(
        h.stripe_session(session).await["status"],
        "open",
        "still payable with a good address"
    );
}

/// The function's own log of a whole checkout — basket, payment page, webhook, order page — holds
/// no session id (the order's credential), voucher code, e-mail, phone, name or address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_a_whole_checkout_holds_no_credential_and_no_personal_data() {
    let h = Harness::start(&example_catalogue()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_checkout-fn"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_clear()
        .envs(h.function_env())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the function starts");
    let started = std::time::Instant::now();
    while h.http.get(format!("{base}/health")).send().await.is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "not ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let email = "anne.lambert@example.org";
    let created = json_of(h.http.post(format!("{base}/checkout")).json(&json!({
        "items": [{ "sku": CANDLE, "quantity": 1 }, { "sku": MENU, "quantity": 2 }],
        "fulfilment": { CHALET: "shipping" },
        "email": email
    })))
    .await;
    let session = created["id"].as_str().expect("a session").to_string();
    let shopper = json!({
        "name": "Anne Lambert",
        "phone": "+32 470 98 76 54",
        "address": { "line1": "Rue Hors-Château 12", "postal_code": "4000", "city": "Liège", "country": "BE" },
        "webhook_url": format!("{base}/webhook")
    });
    let paid = h.control(&format!("checkout/sessions/{session}/pay"), &shopper).await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    let order = json_of(h.http.get(format!("{base}/orders/{session}"))).await;
    let codes: Vec<String> = order["chalets"]
        .as_array()
        .expect("chalets")
        .iter()
        .flat_map(|c| c["lines"].as_array().cloned().unwrap_or_default())
        .flat_map(|l| l["voucher_codes"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 2, "{order}");
    let mut child = child;
    let _ = child.start_kill();
    let out = child.wait_with_output().await.expect("output");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("checkout session created") && log.contains("session settled"),
        "{log}"
    );
    let mut secrets = vec![session.clone(), email.to_string(), "+32 470 98 76 54".into()];
    secrets.extend(["Anne Lambert", "Hors-Château", "anne.lambert"].map(String::from));
    secrets.extend(codes);
    for secret in secrets {
        assert!(!log.contains(&secret), "the log holds {secret}:\n{log}");
    }
}

const RING: &str = "atelier-du-perron/bague-argent-martelee"; // asks "Taille de la bague", 20 characters
const RINGS: &str = "atelier-du-perron";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personalised_ring_needs_its_size_within_bounds_and_the_order_line_keeps_it() {
    let h = Harness::start(&example_catalogue()).await;
    let ring = |text: Value| {
        json!({
            "items": [{ "sku": RING, "quantity": 1, "personalisation": text }, { "sku": RING, "quantity": 1, "personalisation": "58" }],
            "fulfilment": { RINGS: "pickup" },
            "gift_notes": { RINGS: "Pour Marie, joyeux Noël !" }
        })
    };
    let (status, refused) = h.post_json("/checkout", &ring(Value::Null)).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "personalisation_required");
    assert_eq!(refused["error"]["sku"], RING);
    assert!(
        refused["error"]["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("Taille de la bague"))
    );
    let (status, refused) = h.post_json("/checkout", &ring(json!("x".repeat(21)))).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "personalisation_too_long");
    assert_eq!(refused["error"]["max_length"], 20);

    // Two sizes: two lines of one product, each with its text.
    let (status, created) = h.post_json("/checkout", &ring(json!("  54 "))).await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let params = h.create_params(&session).await;
    assert!(
        !params
            .iter()
            .any(|(k, v)| v == "54" || v == "58" || k.contains("personalisation")),
        "the sizes stay with us, not in Stripe: {params:?}"
    );
    let (_, delivered) = h.stripe_control(&session, "pay").await;
    assert_eq!(delivered, 200);
    let (status, order) = h.get(&format!("/orders/{session}")).await;
    assert_eq!(status, 200, "{order}");
    let share = &order["chalets"][0];
    let texts: Vec<&str> = share["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["personalisation"].as_str())
        .collect();
    assert_eq!(texts, ["54", "58"]);
    assert_eq!(share["gift_note"], "Pour Marie, joyeux Noël !");
    assert!(
        share["pickup_at"]
            .as_str()
            .is_some_and(|p| p.contains("Place du Marché 3"))
    );
    // The artisan's share has the texts with the lines.
    let rows = h.db.index_rows(&format!("CHALET#{RINGS}")).await.expect("index");
    assert_eq!(rows[0]["lines"][0]["personalisation"], "54");
    assert_eq!(rows[0]["fulfilment"]["gift_note"], "Pour Marie, joyeux Noël !");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chalet_narrows_the_countries_and_disjoint_chalets_are_told_before_paying() {
    let mut catalogue = example_catalogue();
    // The chocolatier ships to BE, NL and LU (its chalet.yaml); the candles go to FR only here.
    for item in catalogue.items.iter_mut().filter(|i| i.chalet.as_str() == CHALET) {
        item.fulfilment.ship_countries = vec!["FR".into()];
    }
    let h = Harness::start(&catalogue).await;
    let chocolate = catalogue
        .items
        .iter()
        .find(|i| i.chalet.as_str() == "chocolaterie-de-la-meuse" && i.fulfilment.shipping.is_some())
        .expect("a chocolate that ships")
        .sku
        .to_string();
    let (status, created) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": chocolate, "quantity": 1 }], "fulfilment": { "chocolaterie-de-la-meuse": "shipping" } }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let params = h.create_params(created["id"].as_str().expect("id")).await;
    let countries: Vec<String> = (0..5)
        .filter_map(|i| param(&params, &format!("shipping_address_collection[allowed_countries][{i}]")))
        .collect();
    assert_eq!(countries, ["BE", "NL", "LU"]);
    let (status, refused) = h
        .post_json(
            "/checkout",
            &json!({
                "items": [{ "sku": chocolate, "quantity": 1 }, { "sku": CANDLE, "quantity": 1 }],
                "fulfilment": { "chocolaterie-de-la-meuse": "shipping", CHALET: "shipping" }
            }),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "no_common_shipping_country");
    assert_eq!(
        h.remaining(CHALET, CANDLE).await,
        12,
        "nothing held for a refused basket"
    );
}

/// The receipt reaches the shopper's mailbox through a real SMTP server, in the market's
/// language, with both codes of a two-voucher order, and once however often Stripe redelivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receipt_is_mailed_once_in_the_market_s_language_with_every_voucher_code() {
    let h = Harness::start(&example_catalogue()).await;
    let email = format!("receipt-{}@example.org", now());
    let (status, created) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": MENU, "quantity": 2 }], "email": email }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let paid = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "email": email, "name": "Anne Lambert", "webhook_url": format!("{}/webhook", h.base) }),
        )
        .await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    let event = paid["event"]["id"].as_str().expect("event id").to_string();
    for _ in 0..3 {
        let again = h
            .control(
                &format!("events/{event}/resend"),
                &json!({ "webhook_url": format!("{}/webhook", h.base) }),
            )
            .await;
        assert_eq!(again["delivered"], 200, "{again}");
    }
    let mails = mailbox(&email);
    assert_eq!(mails.len(), 1, "sent once after three redeliveries");
    let mail = &mails[0];
    let (_, order) = h.get(&format!("/orders/{session}")).await;
    let codes: Vec<&str> = order["chalets"][0]["lines"][0]["voucher_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(codes.len(), 2);
    for code in &codes {
        assert!(mail.contains(code), "{code} missing from:\n{mail}");
    }
    let reference = order["reference"].as_str().expect("reference");
    for words in [
        "Bonjour Anne Lambert,",
        "Vos codes",
        "Valables jusqu'au",
        "Droit de rétractation",
        "bonjour@marche-de-noel.example",
        reference,
        "Content-Type: text/html",
        "Content-Type: text/plain",
    ] {
        assert!(mail.contains(words), "`{words}` missing from:\n{mail}");
    }
    assert!(
        mail.contains("From: =?utf-8?") || mail.contains("commandes@marche.example"),
        "{mail}"
    );

    // The printable vouchers are attached: a card per code, whose QR code is the order page's —
    // the same signed payload, drawn the same way.
    let name = format!("vouchers-{}.html", reference.to_lowercase());
    let sheet = attachment(mail, &name).unwrap_or_else(|| panic!("no {name} attached to:\n{mail}"));
    assert!(sheet.starts_with("<!doctype html><html lang=\"fr\">"), "{sheet}");
    assert!(!sheet.contains("<script"), "a sheet to print, nothing to run");
    let qrs = order["chalets"][0]["lines"][0]["voucher_qr"]
        .as_array()
        .expect("QR codes");
    for (code, qr) in codes.iter().zip(qrs) {
        assert!(sheet.contains(&format!("<p class=\"code\">{code}</p>")), "{code}");
        let path = qr["path"].as_str().expect("a path");
        assert!(
            sheet.contains(&format!("<path d=\"{path}\"")),
            "the QR of {code} differs from the order page's"
        );
    }
    assert_eq!(sheet.matches("<section class=\"card\">").count(), 2);
    assert!(
        sheet.contains("Valables jusqu&#39;au"),
        "the validity, in the market's words: {sheet}"
    );
}

/// The body of the attachment named `name` in a raw message, decoded (base64 or as sent).
fn attachment(mail: &str, name: &str) -> Option<String> {
    let start = mail.find(&format!("filename=\"{name}\""))?;
    let headers_end = start
        + mail[start..]
            .find("\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| mail[start..].find("\n\n").map(|i| i + 2))?;
    let head = &mail[..headers_end];
    let part_head = &head[head[..start].rfind("\n--").unwrap_or(0)..];
    let body = &mail[headers_end..];
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    if part_head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        use base64::Engine as _;
        let compact: String = body.split_whitespace().collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(compact).ok()?).ok()
    } else {
        Some(body.trim_end().to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_the_smtp_server_refused_is_sent_by_the_reconciler() {
    let h = Harness::start(&example_catalogue()).await;
    let email = format!("retry-{}@example.org", now());
    let (_, created) = h
        .post_json(
            "/checkout",
            &json!({ "items": [{ "sku": BON, "quantity": 1 }], "email": email }),
        )
        .await;
    let session = created["id"].as_str().expect("id").to_string();
    // Our router with a mail server that is not there: the order is recorded, the receipt waits.
    let down = Harness::start_with_mail(&h, "smtp://127.0.0.1:9").await;
    let paid = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "email": email, "webhook_url": format!("{down}/webhook") }),
        )
        .await;
    assert_eq!(paid["delivered"], 200, "a failed mail never fails the order: {paid}");
    assert_eq!(h.get(&format!("/orders/{session}")).await.0, 200);
    assert!(mailbox(&email).is_empty());
    let (code, out, err) = h.cli(&["reconcile"]);
    assert_eq!(code, 0, "{out}{err}");
    let reference = chalet_types::order::reference_of(&session);
    assert!(out.contains(&format!("receipt of order {reference}: Sent")), "{out}");
    assert!(!out.contains(&session), "{out}");
    assert_eq!(mailbox(&email).len(), 1);
    let (_, again, _) = h.cli(&["reconcile"]);
    assert!(!again.contains("receipt of order"), "nothing pending any more: {again}");
}

/// The default theme's words make a whole receipt in each of the four languages: the market's
/// language decides the words, the date and the amounts.
#[test]
fn every_theme_language_writes_a_whole_receipt() {
    let themes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes/default/i18n");
    let order: chalet_types::Order = serde_json::from_value(json!({
        "id": "cs_test_receipt_langs", "created": "2026-12-03T10:00:00Z", "email": "a@example.org",
        "name": "Anne", "total": 11590, "payment_intent": null,
        "lines": [{ "sku": MENU, "name": "Menu", "unit_price": 5500, "quantity": 2,
                    "voucher_codes": ["K7QM-AAAA-BBBB-CCCC", "K7QM-DDDD-EEEE-FFFF"] },
                  { "sku": CANDLE, "name": "Bougie", "unit_price": 590, "quantity": 1, "withdrawal": "personalised" }],
        "fulfilment": [{ "chalet": "la-table-du-carre", "chalet_name": "La Table", "choice": "pickup", "shipping_fee": 0 },
                       { "chalet": CHALET, "chalet_name": "La Cire", "choice": "pickup", "shipping_fee": 0, "pickup_at": "Quai 1" }]
    }))
    .expect("an order");
    for (lang, greeting, codes, date, total) in [
        ("fr", "Bonjour Anne,", "Vos codes", "03/12/2026", "115,90\u{a0}€"),
        ("nl", "Beste Anne,", "Uw codes", "03-12-2026", "€\u{a0}115,90"),
        ("de", "Hallo Anne,", "Ihre Codes", "03.12.2026", "115,90\u{a0}€"),
        ("en", "Hello Anne,", "Your codes", "2026-12-03", "€115.90"),
    ] {
        let yaml = std::fs::read_to_string(themes.join(format!("{lang}.yaml"))).expect("theme strings");
        let strings: std::collections::BTreeMap<String, String> = serde_saphyr::from_str(&yaml).expect("yaml");
        let market = checkout_fn::orders::MarketRow {
            name: "Marché".into(),
            language: chalet_types::Language::parse(lang).expect("language"),
            // As `chalet build` puts them in the catalogue.
            mail: chalet_types::catalogue::receipt_words(&strings),
            ..Default::default()
        };
        let m = checkout_fn::receipt::compose(&order, &market, "https://m.example/order/").expect(lang);
        for part in [&m.text, &m.html] {
            for expected in [
                greeting,
                codes,
                date,
                total,
                "K7QM-DDDD-EEEE-FFFF",
                "Quai 1",
                "VI.47",
                "VI.53, 3°",
            ] {
                assert!(part.contains(expected), "{lang}: `{expected}` missing from\n{part}");
            }
            assert!(!part.contains('{'), "{lang}: a placeholder left unfilled\n{part}");
        }
        assert!(
            m.subject.contains("ANGS") && !m.subject.contains('{'),
            "{lang}: {}",
            m.subject
        );
    }
}
