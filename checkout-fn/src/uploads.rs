//! A browser uploads an application's zip straight to S3 with a presigned POST: the function
//! signs a policy allowing exactly one object (this key, this content type, exactly this many
//! bytes, for 15 minutes) and never sees the bytes. Signed by hand (AWS Signature Version 4 for
//! POST policies: "Authenticating Requests: Browser-Based Uploads Using POST", Amazon S3 API
//! Reference) — the SDK's presigning covers GET/PUT URLs, not POST policies — and checked
//! against AWS's own worked example ("Example: Browser-Based Upload using HTTP POST").

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Where uploads go: the stack's private applications bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploads {
    pub bucket: String,
    pub region: String,
    /// A local S3-compatible server (`http://127.0.0.1:5000`, path-style); real S3 when absent.
    pub endpoint: Option<String>,
}

/// The signer's credentials: the function role's, which Lambda puts in the environment (and
/// renews); a session token comes with them.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, read at each
    /// signature (never cached: the runtime may renew them).
    pub fn from_env() -> Option<Credentials> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(Credentials {
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
        })
    }
}

/// What the browser sends: `url`, and every field before the file (the file last, named `file`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PresignedPost {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// How long a presigned upload stays valid.
pub const VALID_FOR_SECONDS: i64 = 15 * 60;

/// A POST allowing exactly `key`, `content_type` and `size` bytes, signed at `now` (epoch s).
pub fn presign_post(
    uploads: &Uploads,
    creds: &Credentials,
    key: &str,
    content_type: &str,
    size: u64,
    now: i64,
) -> PresignedPost {
    let (date, stamp) = amz_dates(now);
    let credential = format!("{}/{date}/{}/s3/aws4_request", creds.access_key_id, uploads.region);
    let mut conditions = vec![
        json!({ "bucket": uploads.bucket }),
        json!(["eq", "$key", key]),
        json!(["eq", "$Content-Type", content_type]),
        // Exactly the announced size: the recorded SHA-256 is of a file of that size.
        json!(["content-length-range", size, size]),
        json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": stamp }),
    ];
    if let Some(token) = &creds.session_token {
        conditions.push(json!({ "x-amz-security-token": token }));
    }
    let policy = json!({ "expiration": iso8601(now + VALID_FOR_SECONDS), "conditions": conditions });
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let signature = sign_policy(&creds.secret_access_key, &date, &uploads.region, &policy);
    let mut fields = BTreeMap::from([
        ("key".to_string(), key.to_string()),
        ("Content-Type".to_string(), content_type.to_string()),
        ("x-amz-algorithm".to_string(), "AWS4-HMAC-SHA256".to_string()),
        ("x-amz-credential".to_string(), credential),
        ("x-amz-date".to_string(), stamp),
        ("policy".to_string(), policy),
        ("x-amz-signature".to_string(), signature),
    ]);
    if let Some(token) = &creds.session_token {
        fields.insert("x-amz-security-token".into(), token.clone());
    }
    let url = match &uploads.endpoint {
        Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), uploads.bucket),
        None => format!("https://{}.s3.{}.amazonaws.com/", uploads.bucket, uploads.region),
    };
    PresignedPost { url, fields }
}

/// The signature of a base64 policy: HMAC-SHA256 with the key derived from the secret, the
/// date (`YYYYMMDD`), the region and `s3`, hex.
pub fn sign_policy(secret: &str, date: &str, region: &str, policy_base64: &str) -> String {
    let mac = |key: &[u8], data: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let key = [date, region, "s3", "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| mac(&key, part));
    chalet_types::hex(&mac(&key, policy_base64))
}

/// How long an organiser's download link stays valid.
pub const GET_VALID_FOR_SECONDS: i64 = 5 * 60;

/// A URL that GETs `key` for [`GET_VALID_FOR_SECONDS`] from `now`: S3's query-string
/// authentication ("Authenticating Requests: Using Query Parameters (AWS Signature Version 4)",
/// Amazon S3 API Reference), so an organiser's `chalet import <id>` downloads a zip without
/// an S3 client.
pub fn presign_get(uploads: &Uploads, creds: &Credentials, key: &str, now: i64) -> String {
    let (origin, path) = match &uploads.endpoint {
        Some(endpoint) => (
            endpoint.trim_end_matches('/').to_string(),
            format!("/{}/{}", uploads.bucket, uri_encode(key, false)),
        ),
        None => (
            format!("https://{}.s3.{}.amazonaws.com", uploads.bucket, uploads.region),
            format!("/{}", uri_encode(key, false)),
        ),
    };
    presigned_get_url(&origin, &path, &uploads.region, creds, now, GET_VALID_FOR_SECONDS)
}

fn presigned_get_url(origin: &str, path: &str, region: &str, creds: &Credentials, now: i64, expires: i64) -> String {
    let host = origin.split_once("://").map_or(origin, |(_, h)| h);
    let (date, stamp) = amz_dates(now);
    let scope = format!("{date}/{region}/s3/aws4_request");
    let credential = format!("{}/{scope}", creds.access_key_id);
    // Sorted by name, as the canonical query string must be.
    let mut query = vec![
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", stamp.clone()),
        ("X-Amz-Expires", expires.to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
    ];
    if let Some(token) = &creds.session_token {
        query.push(("X-Amz-Security-Token", token.clone()));
    }
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", uri_encode(v, true)))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!("GET\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD");
    let hashed = chalet_types::hex(&<Sha256 as sha2::Digest>::digest(canonical.as_bytes()));
    let to_sign = format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashed}");
    let signature = sign_policy(&creds.secret_access_key, &date, region, &to_sign);
    format!("{origin}{path}?{query}&X-Amz-Signature={signature}")
}

/// GETs `url` (https or a local http server): its body, at most `max` bytes; `None` when the
/// object does not exist (404). Any other answer is an error with its status.
pub async fn download(url: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
    use http_body_util::{BodyExt, Empty, Limited};
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<bytes::Bytes>>(connector);
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("bad download address: {e}"))?;
    let answer = client
        .get(uri)
        .await
        .map_err(|e| format!("the bucket could not be reached: {e}"))?;
    match answer.status().as_u16() {
        200 => {}
        404 => return Ok(None),
        code => return Err(format!("the bucket answered {code}")),
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let body = Limited::new(answer.into_body(), limit)
        .collect()
        .await
        .map_err(|e| format!("the zip could not be read (more than {max} bytes?): {e}"))?;
    Ok(Some(body.to_bytes().to_vec()))
}

/// SigV4's URI encoding: unreserved characters kept, `/` kept in paths, the rest `%XX`.
fn uri_encode(text: &str, slash: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// (`YYYYMMDD`, `YYYYMMDDTHHMMSSZ`) of an epoch second.
fn amz_dates(epoch: i64) -> (String, String) {
    let (y, m, d, hh, mm, ss) = chalet_types::date::utc(epoch);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z"),
    )
}

fn iso8601(epoch: i64) -> String {
    let (y, m, d, hh, mm, ss) = chalet_types::date::utc(epoch);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.000Z")
}

/// The policy a presigned POST carries, decoded (for tests and the organisers' curiosity).
pub fn decode_policy(post: &PresignedPost) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(post.fields.get("policy")?)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example: its credentials, policy (base64, CRLF line ends) and signature, as
    /// the Amazon S3 API Reference prints them ("Example: Browser-Based Upload using HTTP POST
    /// (Using AWS Signature Version 4)").
    /// AWS's worked example of a presigned GET ("Authenticating Requests: Using Query
    /// Parameters", Amazon S3 API Reference): `examplebucket`, `test.txt`, 24 May 2013, one day.
    #[test]
    fn presigns_aws_s_own_get_example_to_its_signature() {
        let creds = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        // 2013-05-24T00:00:00Z
        let url = presigned_get_url(
            "https://examplebucket.s3.amazonaws.com",
            "/test.txt",
            "us-east-1",
            &creds,
            1_369_353_600,
            86_400,
        );
        assert_eq!(
            url,
            concat!(
                "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256",
                "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
                "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
                "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            )
        );
        // A local server is addressed path-style, its port in the signed host.
        let local = Uploads {
            bucket: "apps".into(),
            region: "eu-west-1".into(),
            endpoint: Some("http://127.0.0.1:5000/".into()),
        };
        let url = presign_get(&local, &creds, "applications/a b.zip", 0);
        assert!(
            url.starts_with("http://127.0.0.1:5000/apps/applications/a%20b.zip?X-Amz-Algorithm="),
            "{url}"
        );
        assert!(url.contains("&X-Amz-Expires=300&"));
    }

    #[test]
    fn signs_aws_s_own_example_to_its_signature() {
        let policy = concat!(
            "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6",
            "ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFj",
            "bCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tl",
            "dC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5",
            "cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZl",
            "ci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoN",
            "CiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVx",
            "dWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAx",
            "NTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
        );
        assert_eq!(
            sign_policy(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "20151229",
                "us-east-1",
                policy
            ),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn the_policy_allows_one_object_of_one_size_for_fifteen_minutes() {
        let uploads = Uploads {
            bucket: "chalet-applications".into(),
            region: "eu-west-1".into(),
            endpoint: None,
        };
        let creds = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("token".into()),
        };
        // 2026-12-04T10:20:30Z
        let post = presign_post(
            &uploads,
            &creds,
            "applications/a1.zip",
            "application/zip",
            1234,
            1_796_379_630,
        );
        assert_eq!(post.url, "https://chalet-applications.s3.eu-west-1.amazonaws.com/");
        assert_eq!(post.fields["x-amz-date"], "20261204T102030Z");
        assert_eq!(
            post.fields["x-amz-credential"],
            "AKIAIOSFODNN7EXAMPLE/20261204/eu-west-1/s3/aws4_request"
        );
        let policy = decode_policy(&post).expect("a JSON policy");
        assert_eq!(policy["expiration"], "2026-12-04T10:35:30.000Z");
        let conditions = policy["conditions"].as_array().expect("conditions");
        assert!(conditions.contains(&json!(["content-length-range", 1234, 1234])));
        assert!(conditions.contains(&json!(["eq", "$key", "applications/a1.zip"])));
        assert!(conditions.contains(&json!({ "x-amz-security-token": "token" })));
        assert_eq!(post.fields["x-amz-security-token"], "token");
        assert_eq!(
            post.fields["x-amz-signature"],
            sign_policy(
                &creds.secret_access_key,
                "20261204",
                "eu-west-1",
                &post.fields["policy"]
            )
        );
    }
}
