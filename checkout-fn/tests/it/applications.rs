//! Applications sent online, on the real peers: the function records the application and
//! answers a presigned POST and a registration session; the zip goes straight to the local S3
//! server (moto) through that POST as a browser sends it; paying on the Stripe stand-in marks
//! the application paid; the organisers' command lists it.

use crate::common::*;
use serde_json::{Value, json};
use sha2::Digest;

/// S3's own headers for an authenticated read (moto refuses anonymous reads of a private
/// bucket; it does not check signatures).
const S3_AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0";

async fn bucket(http: &reqwest::Client) -> String {
    let s3 = peer("CHALET_TEST_S3");
    let r = http
        .put(format!("{s3}/{APPLICATIONS_BUCKET}"))
        .header("authorization", S3_AUTH)
        // Outside us-east-1 S3 wants the region said (and moto, like S3, refuses without it).
        .body(
            "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
        )
        .send()
        .await
        .expect("S3 answers");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    // 409 BucketAlreadyOwnedByYou: the other test made it first.
    assert!(
        status == 200 || text.contains("BucketAlreadyOwnedByYou"),
        "{status} {text}"
    );
    s3
}

/// The browser's upload: every field of the presigned POST, then the file, as multipart.
async fn upload(http: &reqwest::Client, post: &Value, zip: &[u8]) -> u16 {
    let boundary = "chalet-form-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in post["fields"].as_object().expect("fields") {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").bytes());
        body.extend(value.as_str().expect("a text field").bytes());
        body.extend(b"\r\n");
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chalet.zip\"\r\nContent-Type: application/zip\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(zip);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    http.post(post["url"].as_str().expect("url"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("S3 answers")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_is_uploaded_paid_and_listed() {
    let h = Harness::start(&example_catalogue()).await;
    let s3 = bucket(&h.http).await;
    let zip = b"PK\x03\x04 a chalet folder, zipped by the form".repeat(20);
    let sha = sha2::Sha256::digest(&zip)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let (status, answer) = h
        .post_json(
            "/applications",
            &json!({ "chalet_name": "Chez Lina", "artisan": "Lina Dethier", "email": "lina@example.org",
                     "zip_size": zip.len(), "zip_sha256": sha }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["id"].as_str().expect("id").to_string();
    let key = format!("applications/{id}.zip");
    assert_eq!(answer["upload"]["url"], format!("{s3}/{APPLICATIONS_BUCKET}"));
    assert_eq!(answer["upload"]["fields"]["key"], key.as_str());

    // The registration fee as published (150 € minus the sponsors' 50 €), tied to the application.
    let session = answer["checkout"]["id"].as_str().expect("session").to_string();
    let params = h.create_params(&session).await;
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(
        param("line_items[0][price_data][unit_amount]").as_deref(),
        Some("10000")
    );
    assert_eq!(param("metadata[application]").as_deref(), Some(id.as_str()));

    let listed = h.db.applications(None).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "submitted");
    assert_eq!(listed[0]["zip_sha256"], sha.as_str());
    assert_eq!(listed[0]["zip_size"], zip.len());

    // The browser's upload lands in the bucket, byte for byte.
    assert_eq!(upload(&h.http, &answer["upload"], &zip).await, 204);
    let stored = h
        .http
        .get(format!("{s3}/{APPLICATIONS_BUCKET}/{key}"))
        .header("authorization", S3_AUTH)
        .send()
        .await
        .expect("S3 answers");
    assert_eq!(stored.status().as_u16(), 200);
    assert_eq!(stored.bytes().await.expect("body").as_ref(), zip.as_slice());

    // Not paid yet: the organisers' download refuses it (unless asked for all the same).
    let out_dir = tempfile::tempdir().expect("tmp");
    let dest = out_dir.path().to_str().expect("utf8");
    let (code, _, err) = h.cli(&["applications", "--fetch", &id, "--out", dest]);
    assert_eq!((code, err.contains("is not paid yet")), (1, true), "{err}");

    // Paid on the stand-in: the signed webhook marks it paid, twice delivered, once recorded.
    let (_, delivered) = h.stripe_control(&session, "pay").await;
    assert_eq!(delivered, json!(200));
    let paid =
        h.db.applications(Some(checkout_fn::applications::Status::Paid))
            .await
            .expect("list");
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["id"], id.as_str());
    let (code, out, err) = h.cli(&["applications", "--status", "paid"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["key"], key.as_str());
    assert!(err.contains(&format!("chalet import {id}")), "{err}");

    // The organisers' download: through a presigned GET, checked against the recorded SHA-256.
    let (code, line, err) = h.cli(&["applications", "--fetch", &id, "--out", dest]);
    assert_eq!(code, 0, "{err}");
    let line: Value = serde_json::from_str(line.trim()).expect("a JSON line");
    let path = out_dir.path().join(format!("{id}.zip"));
    assert_eq!(line["path"], path.display().to_string());
    assert_eq!(line["zip_sha256"], sha.as_str());
    assert_eq!(std::fs::read(&path).expect("downloaded"), zip);
    // Bytes changed in the bucket after the artisan sent them: refused, whatever they are.
    let swapped = h
        .http
        .put(format!("{s3}/{APPLICATIONS_BUCKET}/{key}"))
        .header("authorization", S3_AUTH)
        .body(b"PK\x03\x04 another folder".to_vec())
        .send()
        .await
        .expect("S3 answers");
    assert_eq!(swapped.status().as_u16(), 200);
    let (code, _, err) = h.cli(&["applications", "--fetch", &id, "--out", dest]);
    assert_eq!(
        (code, err.contains("is not the one the artisan sent")),
        (1, true),
        "{err}"
    );
    let (code, _, err) = h.cli(&["applications", "--fetch", "nosuchapplication", "--out", dest]);
    assert_eq!(
        (code, err.contains("no application `nosuchapplication`")),
        (1, true),
        "{err}"
    );
    let (code, submitted, err) = h.cli(&["applications", "--status", "submitted"]);
    assert_eq!(code, 0, "{err}");
    assert!(submitted.trim().is_empty(), "nothing is left unpaid: {submitted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_application_gets_a_specific_error_and_records_nothing() {
    let h = Harness::start(&example_catalogue()).await;
    let good = json!({ "chalet_name": "Chez Lina", "artisan": "Lina", "email": "lina@example.org",
                       "zip_size": 1000, "zip_sha256": "ab".repeat(32) });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, status, code) in [
        (with("zip_size", json!(0)), 422, "invalid_application"),
        (with("zip_size", json!(200 * 1024 * 1024)), 422, "invalid_application"),
        (with("zip_sha256", json!("not-a-hash")), 422, "invalid_application"),
        (with("email", json!("lina")), 422, "invalid_email"),
        (with("chalet_name", json!("  ")), 422, "invalid_registration"),
        (with("price", json!(1)), 400, "invalid_json"),
    ] {
        let (got, answer) = h.post_json("/applications", &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body} → {answer}"
        );
    }
    assert!(h.db.applications(None).await.expect("list").is_empty());
}
