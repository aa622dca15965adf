//! Restaurant vouchers redeemed exactly once, on the real peers: two scans at the same moment
//! get one yes; expired, refunded and unknown codes are refused with the reason; a redemption
//! can be undone within two minutes, once; only the restaurant's own token redeems its codes.

use crate::common::*;
use chalet_types::{Date, VoucherCode};
use serde_json::{Value, json};

const RESTAURANT: &str = "la-table-du-carre";

async fn bought(h: &Harness, quantity: u32) -> (String, Vec<VoucherCode>) {
    let (status, created) = h
        .post_json("/checkout", &json!({ "items": [{ "sku": BON, "quantity": quantity }] }))
        .await;
    assert_eq!(status, 200, "{created}");
    let session = created["id"].as_str().expect("id").to_string();
    let paid = h
        .control(
            &format!("checkout/sessions/{session}/pay"),
            &json!({ "webhook_url": format!("{}/webhook", h.base) }),
        )
        .await;
    assert_eq!(paid["delivered"], 200, "{paid}");
    let order = h.db.order(&session).await.expect("read").expect("recorded");
    let codes = order.lines.iter().flat_map(|l| l.voucher_codes.clone()).collect();
    (session, codes)
}

async fn call(h: &Harness, code: &str, action: &str, chalet: &str) -> (u16, Value) {
    h.post_json(
        &format!("/vouchers/{code}/{action}"),
        &json!({ "token": token(chalet) }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_waiters_scanning_one_voucher_get_one_yes_and_an_undo_works_once() {
    let h = Harness::start_private(&example_catalogue()).await;
    h.control("webhooks", &json!({ "url": format!("{}/webhook", h.base) }))
        .await;
    let (order, codes) = bought(&h, 2).await;
    assert_eq!(codes.len(), 2);
    let first = codes[0].as_str();

    // The same code, twice at once: exactly one redemption.
    let (a, b) = tokio::join!(
        call(&h, first, "redeem", RESTAURANT),
        call(&h, first, "redeem", RESTAURANT)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let refusal = if a.0 == 409 { &a.1 } else { &b.1 };
    assert_eq!(refusal["error"]["code"], "voucher_redeemed");
    assert!(
        refusal["error"]["message"]
            .as_str()
            .expect("text")
            .contains("already redeemed on 20"),
        "{refusal}"
    );
    let yes = if a.0 == 200 { &a.1 } else { &b.1 };
    assert_eq!(yes["sku"], BON);

    // Typed by hand, lower case and in groups: the same code.
    let typed = first.replace('-', " ").to_lowercase();
    assert_eq!(call(&h, &typed, "redeem", RESTAURANT).await.0, 409);

    // Undo once within the window; the code is good again; a second undo is refused.
    assert_eq!(call(&h, first, "undo", RESTAURANT).await.0, 200);
    let (status, again) = call(&h, first, "undo", RESTAURANT).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("undo_too_late")));
    assert_eq!(call(&h, first, "redeem", RESTAURANT).await.0, 200);
    // Past two minutes (the redemption moved back in time): no undo.
    let client = dynamo_client().await;
    client
        .update_item()
        .table_name(&h.db.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CODE#{first}")),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("CODE".into()))
        .update_expression("SET redeemed_at = :old")
        .expression_attribute_values(
            ":old",
            aws_sdk_dynamodb::types::AttributeValue::N((now() - 121).to_string()),
        )
        .send()
        .await
        .expect("aged");
    assert_eq!(call(&h, first, "undo", RESTAURANT).await.0, 409);

    // Another chalet's token, an unknown code, a malformed one.
    let second = codes[1].as_str();
    let (status, answer) = call(&h, second, "redeem", CHALET).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")));
    let unknown = VoucherCode::from_entropy([7; 10]);
    let (status, answer) = call(&h, unknown.as_str(), "redeem", RESTAURANT).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("unknown_voucher"))
    );
    assert_eq!(call(&h, "not-a-code", "redeem", RESTAURANT).await.0, 404);

    // Refunded: the unused code is voided and refused; the used one stays used.
    let (code, out, err) = h.cli(&["refund", &order, "--line", BON]);
    assert_eq!(code, 0, "{out}{err}");
    let mut voided = None;
    for _ in 0..50 {
        let (status, answer) = call(&h, second, "redeem", RESTAURANT).await;
        if answer["error"]["code"] == "voucher_voided" {
            voided = Some(status);
            break;
        }
        assert_eq!(status, 409, "never redeemable while the refund is recorded: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(voided, Some(409), "the refunded code is refused as voided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_voucher_is_refused_with_its_date() {
    let mut catalogue = example_catalogue();
    let item = catalogue
        .items
        .iter_mut()
        .find(|i| i.sku.to_string() == BON)
        .expect("the voucher");
    item.voucher_valid_until = Date::parse("2020-01-31");
    let h = Harness::start(&catalogue).await;
    let (_, codes) = bought(&h, 1).await;
    let (status, answer) = call(&h, codes[0].as_str(), "redeem", RESTAURANT).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("voucher_expired")),
        "{answer}"
    );
    assert_eq!(answer["error"]["date"], "2020-01-31");
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("text")
            .contains("expired on 2020-01-31")
    );
}

/// Each code sold comes with a QR code carrying a payload the market signed: it verifies with
/// the public key the function publishes, and stops verifying once anything in it changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_voucher_s_qr_code_is_signed_with_the_published_key() {
    let h = Harness::start(&example_catalogue()).await;
    let (session, codes) = bought(&h, 2).await;
    let (status, key) = h.get("/vouchers/key").await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["alg"], "Ed25519");
    use base64::Engine;
    let public = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key["key"].as_str().expect("key"))
        .expect("base64url");
    let (status, order) = h.get(&format!("/orders/{session}")).await;
    assert_eq!(status, 200, "{order}");
    let line = &order["chalets"][0]["lines"][0];
    let qr = line["voucher_qr"].as_array().expect("one per code");
    assert_eq!(qr.len(), codes.len());
    for (drawn, code) in qr.iter().zip(&codes) {
        let payload = drawn["payload"].as_str().expect("payload");
        assert_eq!(checkout_fn::voucher_qr::verify(&public, payload).as_ref(), Some(code));
        assert!(
            payload.contains(&format!(".{}.", line["valid_until"].as_str().expect("date"))),
            "{payload}"
        );
        assert!(drawn["size"].as_i64().expect("side") > 20 && drawn["path"].as_str().expect("path").starts_with('M'));
        let forged = payload.replacen(line["valid_until"].as_str().expect("date"), "2099-12-31", 1);
        assert_eq!(checkout_fn::voucher_qr::verify(&public, &forged), None, "{forged}");
    }
}

async fn with_pin(h: &Harness, code: &str, action: &str, chalet: &str, pin: &str) -> (u16, Value) {
    h.post_json(
        &format!("/vouchers/{code}/{action}"),
        &json!({ "chalet": chalet, "pin": pin }),
    )
    .await
}

/// `GET`/`POST /chalets/{slug}/pin` with the link's token as a bearer.
async fn pin_api(h: &Harness, chalet: &str, token: Option<&str>, pin: Option<Value>) -> (u16, Value, Option<String>) {
    let url = format!("{}/chalets/{chalet}/pin", h.base);
    let mut r = match &pin {
        Some(body) => h.http.post(url).json(&json!({ "pin": body })),
        None => h.http.get(url),
    };
    if let Some(token) = token {
        r = r.bearer_auth(token);
    }
    let r = r.send().await.expect("request");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_string());
    (status, r.json().await.unwrap_or(Value::Null), retry)
}

/// A restaurant's waiters redeem with a PIN its owner set from the private link: only that
/// chalet's codes, and wrong PINs are counted — five, even sent all at once, then the PIN locks
/// (429, `Retry-After`) until the window passes or the owner sets it again; the link still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_pin_redeems_its_chalet_s_vouchers_and_five_wrong_ones_lock_it() {
    let h = Harness::start_private(&example_catalogue()).await;
    let (_, codes) = bought(&h, 4).await;
    let code = |i: usize| codes[i].as_str().to_string();
    let owner = token(RESTAURANT);
    const PIN: &str = "402917";

    // Setting it takes the restaurant's own link; a PIN anyone would guess first is refused.
    assert_eq!(pin_api(&h, RESTAURANT, None, None).await.0, 403);
    assert_eq!(
        pin_api(&h, RESTAURANT, Some(&token(CHALET)), Some(json!(PIN))).await.0,
        403
    );
    let (status, shown, _) = pin_api(&h, RESTAURANT, Some(&owner), None).await;
    assert_eq!((status, &shown["set"]), (200, &json!(false)), "{shown}");
    for easy in ["123456", "111111", "12345", "12345a"] {
        let (status, answer, _) = pin_api(&h, RESTAURANT, Some(&owner), Some(json!(easy))).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("invalid_pin")),
            "{easy}"
        );
    }
    let (status, set, _) = pin_api(&h, RESTAURANT, Some(&owner), Some(json!(PIN))).await;
    assert_eq!((status, &set["set"]), (200, &json!(true)), "{set}");
    assert!(set["set_at"].as_i64().expect("when") >= now() - 5);
    // The table keeps a keyed hash, never the PIN.
    let stored = h.db.client.scan().table_name(&h.db.table).send().await.expect("scan");
    let pin_item = stored
        .items()
        .iter()
        .find(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&format!("PIN#{RESTAURANT}")))
        .expect("the PIN's item");
    assert!(!format!("{pin_item:?}").contains(PIN), "{pin_item:?}");

    // The staff redeem and undo with it; the other chalet's PIN does not open these codes.
    let (status, yes) = with_pin(&h, &code(0), "redeem", RESTAURANT, PIN).await;
    assert_eq!((status, yes["sku"].as_str()), (200, Some(BON)), "{yes}");
    assert_eq!(with_pin(&h, &code(0), "undo", RESTAURANT, PIN).await.0, 200);
    assert_eq!(
        pin_api(&h, CHALET, Some(&token(CHALET)), Some(json!("860421"))).await.0,
        200
    );
    let (status, answer) = with_pin(&h, &code(0), "redeem", CHALET, "860421").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{answer}"
    );
    // Either the link or the PIN, not both nor neither.
    let both = json!({ "token": owner, "chalet": RESTAURANT, "pin": PIN });
    assert_eq!(
        h.post_json(&format!("/vouchers/{}/redeem", code(0)), &both).await.0,
        400
    );
    assert_eq!(
        h.post_json(&format!("/vouchers/{}/redeem", code(0)), &json!({}))
            .await
            .0,
        400
    );

    // Eight wrong guesses at once: five are counted as wrong, three find the PIN locked.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (http, url) = (h.http.clone(), format!("{}/vouchers/{}/redeem", h.base, code(0)));
        guesses.spawn(async move {
            let r = http
                .post(url)
                .json(&json!({ "chalet": RESTAURANT, "pin": format!("90000{i}") }))
                .send()
                .await
                .expect("request");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        });
    }
    let answers = guesses.join_all().await;
    let mut left: Vec<i64> = answers
        .iter()
        .filter(|(s, _)| *s == 403)
        .map(|(_, a)| a["error"]["attempts_left"].as_i64().expect("left"))
        .collect();
    left.sort();
    assert_eq!(left, [0, 1, 2, 3, 4], "{answers:?}");
    assert_eq!(
        answers
            .iter()
            .filter(|(s, a)| *s == 429 && a["error"]["code"] == "too_many_attempts")
            .count(),
        3
    );
    // Now even the right PIN waits, and says how long, in the body and the header.
    let r = h
        .http
        .post(format!("{}/vouchers/{}/redeem", h.base, code(0)))
        .json(&json!({ "chalet": RESTAURANT, "pin": PIN }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((800..=900).contains(&retry), "{retry}");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["retry_after"], retry);
    // The link is not locked out.
    assert_eq!(call(&h, &code(1), "redeem", RESTAURANT).await.0, 200);

    // The owner setting the PIN again lifts the lock.
    assert_eq!(
        pin_api(&h, RESTAURANT, Some(&owner), Some(json!("402918"))).await.0,
        200
    );
    assert_eq!(
        with_pin(&h, &code(2), "redeem", RESTAURANT, PIN).await.0,
        403,
        "the old PIN is gone"
    );
    assert_eq!(with_pin(&h, &code(2), "redeem", RESTAURANT, "402918").await.0, 200);

    // Locked again (the old PIN above was a first wrong one, four more), then the window passes
    // (moved back in time): the right PIN works again.
    for _ in 0..4 {
        assert_eq!(with_pin(&h, &code(3), "redeem", RESTAURANT, "111112").await.0, 403);
    }
    assert_eq!(with_pin(&h, &code(3), "redeem", RESTAURANT, "402918").await.0, 429);
    h.db.client
        .update_item()
        .table_name(&h.db.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PIN#{RESTAURANT}")),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("PIN".into()))
        .update_expression("SET window_start = :old")
        .expression_attribute_values(
            ":old",
            aws_sdk_dynamodb::types::AttributeValue::N(
                (now() - checkout_fn::staff_pin::WINDOW_SECONDS - 1).to_string(),
            ),
        )
        .send()
        .await
        .expect("aged");
    assert_eq!(with_pin(&h, &code(3), "redeem", RESTAURANT, "402918").await.0, 200);

    // Ended: only the link redeems again.
    let (status, ended, _) = pin_api(&h, RESTAURANT, Some(&owner), Some(Value::Null)).await;
    assert_eq!((status, &ended["set"]), (200, &json!(false)), "{ended}");
    let (status, answer) = with_pin(&h, &code(3), "undo", RESTAURANT, "402918").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("wrong_pin")),
        "{answer}"
    );
    assert_eq!(call(&h, &code(3), "undo", RESTAURANT).await.0, 200);
}
