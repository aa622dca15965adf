//! The infrastructure template and the code must agree: the table's keys, index and TTL are the
//! shared crate's, and the function's environment is exactly what its config reads.

use chalet_types::table;
use checkout_fn::config::{OPTIONAL, REQUIRED, SECRETS};
use serde_json::Value;

fn template() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
    serde_saphyr::from_str(&text).expect("the template is plain YAML (long-form intrinsics)")
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v[field].as_str().expect("a name").to_string())
        .collect()
}

#[test]
fn table_layout_matches_the_shared_crate() {
    let t = template();
    let props = &t["Resources"]["Table"]["Properties"];
    assert_eq!(
        names(&props["KeySchema"], "AttributeName"),
        vec![table::PARTITION_KEY, table::SORT_KEY]
    );
    let index = &props["GlobalSecondaryIndexes"][0];
    assert_eq!(index["IndexName"], table::CHALET_INDEX);
    assert_eq!(
        names(&index["KeySchema"], "AttributeName"),
        vec![table::CHALET_INDEX_PARTITION_KEY, table::CHALET_INDEX_SORT_KEY]
    );
    assert_eq!(props["TimeToLiveSpecification"]["AttributeName"], table::TTL_ATTRIBUTE);
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
}

#[test]
fn function_environment_is_what_the_config_reads_and_holds_no_secret() {
    let t = template();
    let env = t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .expect("variables");
    for required in REQUIRED {
        let via_parameter = format!("{required}_PARAMETER");
        assert!(
            env.contains_key(required) || (SECRETS.contains(&required) && env.contains_key(&via_parameter)),
            "the template does not give the function {required}"
        );
    }
    for secret in SECRETS {
        assert!(
            !env.contains_key(secret),
            "{secret} must come from the parameter store, never in clear"
        );
    }
    for name in env.keys() {
        let known = REQUIRED.contains(&name.as_str())
            || OPTIONAL.contains(&name.as_str())
            || SECRETS.iter().any(|s| *name == format!("{s}_PARAMETER"));
        assert!(known, "the template sets {name}, which the function never reads");
    }
    // Each secret read from the parameter store is one the function's role may read.
    let policies = t["Resources"]["FunctionRole"]["Properties"]["Policies"].to_string();
    for (name, value) in env.iter().filter(|(n, _)| n.ends_with("_PARAMETER")) {
        let parameter = value
            .to_string()
            .split("\"Ref\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{name} names no template parameter"));
        assert!(
            policies.contains(&format!("parameter${{{parameter}}}")),
            "{name}: the role may not read ${{{parameter}}}"
        );
    }
    let props = &t["Resources"]["Function"]["Properties"];
    assert_eq!(props["Runtime"], "provided.al2023");
    assert_eq!(props["Architectures"][0], "arm64");
}

#[test]
fn the_function_may_touch_only_its_table() {
    let t = template();
    let statements = t["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .clone();
    for s in &statements {
        let actions: Vec<&str> = match &s["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => panic!("unexpected Action {other}"),
        };
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "no wildcard actions: {actions:?}"
        );
        assert!(s["Resource"] != "*", "no wildcard resources");
    }
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Regression: behind a Lambda origin access control, POST needs the viewer to send
/// `x-amz-content-sha256` ("Restrict access to an AWS Lambda function URL origin"), which
/// neither browsers nor Stripe do: every sale would have failed.
#[test]
fn no_post_route_goes_through_an_origin_that_needs_a_payload_hash() {
    let t = template();
    let lambda_oacs: Vec<&String> = resources_of_type(&t, "AWS::CloudFront::OriginAccessControl")
        .into_iter()
        .filter(|(_, r)| r["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "lambda")
        .map(|(name, _)| name)
        .collect();
    let config = &t["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
    let origins = config["Origins"].as_array().expect("origins");
    let mut behaviours: Vec<&Value> = config["CacheBehaviors"]
        .as_array()
        .expect("behaviours")
        .iter()
        .collect();
    behaviours.push(&config["DefaultCacheBehavior"]);
    let mut posting = 0;
    for b in behaviours {
        let methods = b["AllowedMethods"].as_array().cloned().unwrap_or_default();
        if !methods.iter().any(|m| m == "POST") {
            continue;
        }
        posting += 1;
        let origin = origins
            .iter()
            .find(|o| o["Id"] == b["TargetOriginId"])
            .expect("its origin");
        let oac = origin["OriginAccessControlId"]["Fn::GetAtt"][0].as_str().unwrap_or("");
        assert!(
            !lambda_oacs.iter().any(|n| n.as_str() == oac),
            "POST through a Lambda OAC"
        );
        // Instead, the origin carries the secret the function checks.
        let headers = origin["OriginCustomHeaders"]
            .as_array()
            .expect("the origin's secret header");
        assert!(
            headers
                .iter()
                .any(|h| h["HeaderName"].as_str().map(str::to_ascii_lowercase).as_deref()
                    == Some(checkout_fn::secrets::ORIGIN_HEADER)
                    && h["HeaderValue"]["Ref"] == "OriginVerifySecret")
        );
    }
    assert_eq!(posting, 1, "the /api/* behaviour");
    let env = &t["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
    assert!(env["ORIGIN_VERIFY_SECRETS"].to_string().contains("OriginVerifySecret"));
    assert_eq!(t["Parameters"]["OriginVerifySecret"]["NoEcho"], true);
}

/// Since October 2025 a new function URL needs both `lambda:InvokeFunctionUrl` and
/// `lambda:InvokeFunction` ("Control access to Lambda function URLs").
#[test]
fn the_function_url_has_both_invoke_permissions_for_its_auth_type() {
    let t = template();
    let auth = &t["Resources"]["FunctionUrl"]["Properties"]["AuthType"];
    assert_eq!(
        auth, "NONE",
        "browsers and Stripe reach it through CloudFront without signing"
    );
    let permissions = resources_of_type(&t, "AWS::Lambda::Permission");
    let url = permissions
        .iter()
        .find(|(_, p)| p["Properties"]["Action"] == "lambda:InvokeFunctionUrl")
        .expect("lambda:InvokeFunctionUrl");
    assert_eq!(&url.1["Properties"]["FunctionUrlAuthType"], auth);
    let invoke = permissions
        .iter()
        .find(|(_, p)| p["Properties"]["Action"] == "lambda:InvokeFunction")
        .expect("lambda:InvokeFunction");
    assert_eq!(
        invoke.1["Properties"]["InvokedViaFunctionUrl"], true,
        "only through the URL"
    );
    assert!(
        t["Resources"]["Function"]["Properties"]["Layers"].is_null(),
        "no extension layer"
    );
    assert!(
        t["Resources"]["Function"]["Properties"]["ReservedConcurrentExecutions"]["Fn::If"].is_array(),
        "reserved concurrency is optional: new accounts cannot reserve 100"
    );
}

/// The site's error pages apply to /api/* too: they may only replace statuses the API never
/// gives its clients (403 and 404; a pending order is 202), and are never cached.
#[test]
fn the_site_error_pages_cannot_cover_api_answers() {
    let t = template();
    let responses = t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CustomErrorResponses"]
        .as_array()
        .expect("error responses");
    for r in responses {
        let code = r["ErrorCode"].as_u64().expect("code");
        assert!(code == 403 || code == 404, "{code} would replace an API answer");
        assert_eq!(r["ErrorCachingMinTTL"], 0, "{code} must not be cached");
    }
}

/// The deploy role allows exactly what the workflow's commands call: the SDK calls in
/// `publish.rs` and the aws CLI commands in `chalet deploy`, mapped to their IAM actions.
#[test]
fn the_deploy_role_has_exactly_the_actions_the_workflow_uses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let publish = std::fs::read_to_string(root.join("checkout-fn/src/publish.rs")).expect("publish.rs");
    let publish_fn = &publish[publish.find("pub async fn publish").expect("publish")
        ..publish.find("pub async fn create_table").expect("create_table")];
    let deploy = std::fs::read_to_string(root.join("generator/src/deploy/aws.rs")).expect("aws.rs");
    let mut used = std::collections::BTreeSet::new();
    for (call, action) in [
        (".update_item()", "dynamodb:UpdateItem"),
        (".scan()", "dynamodb:Scan"),
        (".put_item()", "dynamodb:PutItem"),
        (".get_item()", "dynamodb:GetItem"),
        (".query()", "dynamodb:Query"),
    ] {
        if publish_fn.contains(call) {
            used.insert(action.to_string());
        }
    }
    for (command, action) in [
        ("\"list-objects-v2\"", "s3:ListBucket"),
        ("\"cp\"", "s3:PutObject"),
        ("\"rm\"", "s3:DeleteObject"),
        ("\"create-invalidation\"", "cloudfront:CreateInvalidation"),
    ] {
        if deploy.contains(command) {
            used.insert(action.to_string());
        }
    }
    let t = template();
    let role = &t["Resources"]["DeployRole"];
    assert_eq!(role["Condition"], "HasGitHub");
    let mut allowed = std::collections::BTreeSet::new();
    for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
    {
        match &s["Action"] {
            Value::String(a) => {
                allowed.insert(a.clone());
            }
            Value::Array(a) => allowed.extend(a.iter().filter_map(Value::as_str).map(str::to_string)),
            other => panic!("unexpected Action {other}"),
        }
        assert!(s["Resource"] != "*");
    }
    assert_eq!(allowed, used);
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"];
    assert!(
        trust["token.actions.githubusercontent.com:sub"]
            .to_string()
            .contains(":environment:${GitHubEnvironment}"),
        "a job with `environment:` sends repo:OWNER/REPO:environment:NAME"
    );
    assert_eq!(trust["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
    let workflow =
        std::fs::read_to_string(root.join("infra/content-repo/.github/workflows/deploy.yml")).expect("workflow");
    assert!(
        workflow.contains("environment: production"),
        "the environment the trust policy names by default"
    );
}

/// The schedules (reconciler, purge, digest) send what the function recognises as theirs, through a role
/// that may invoke this function only, and the function's timeout leaves room for every
/// dependency's own deadline (so a request can still release its stock and answer).
#[test]
fn the_schedules_reach_the_function_and_deadlines_fit_its_timeout() {
    use checkout_fn::lambda::{DIGEST_INPUT, Job, PURGE_INPUT, RECONCILE_INPUT, job};
    let t = template();
    // Each schedule sends the Input of its job, at the pace it needs.
    for (name, every, text, expected) in [
        ("ReconcilerSchedule", "rate(5 minutes)", RECONCILE_INPUT, Job::Reconcile),
        ("PurgeSchedule", "rate(1 day)", PURGE_INPUT, Job::Purge),
        ("DigestSchedule", "cron(0 6 * * ? *)", DIGEST_INPUT, Job::Digest),
    ] {
        let schedule = &t["Resources"][name];
        assert_eq!(schedule["Type"], "AWS::Scheduler::Schedule", "{name}");
        assert_eq!(schedule["Properties"]["ScheduleExpression"], every, "{name}");
        let target = &schedule["Properties"]["Target"];
        let input: Value = serde_json::from_str(target["Input"].as_str().expect("an Input")).expect("JSON input");
        assert_eq!(job(&input), Some(expected), "{name}");
        assert_eq!(input, serde_json::from_str::<Value>(text).expect("json"), "{name}");
        assert_eq!(target["Arn"]["Fn::GetAtt"][0], "Function", "{name}");
        assert_eq!(target["RoleArn"]["Fn::GetAtt"][0], "ReconcilerRole", "{name}");
    }
    let role = &t["Resources"]["ReconcilerRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "scheduler.amazonaws.com"
    );
    let statement = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Action"], "lambda:InvokeFunction");
    assert_eq!(statement["Resource"]["Fn::GetAtt"][0], "Function");

    let timeout = t["Resources"]["Function"]["Properties"]["Timeout"]
        .as_u64()
        .expect("Timeout");
    // A checkout: catalogue read, reservation, Stripe (all attempts), release on failure.
    let worst = checkout_fn::payments::STRIPE_BUDGET.as_secs() + 3 * checkout_fn::dynamo::OPERATION_TIMEOUT.as_secs();
    assert!(
        timeout > worst,
        "Timeout {timeout} s must exceed the {worst} s a checkout may take"
    );
    // The scheduled run's receipts: the budget, the last send started within it, and its write.
    let receipts = checkout_fn::reconcile::RECEIPTS_BUDGET
        + checkout_fn::mail::SEND_TIMEOUT
        + checkout_fn::dynamo::OPERATION_TIMEOUT;
    assert!(
        timeout > receipts.as_secs(),
        "Timeout {timeout} s must exceed the {} s the reconciler may spend on receipts",
        receipts.as_secs()
    );
}

/// The per-client cap counts viewers, not CloudFront's edges: the /api/* behaviour sets the
/// viewer's address in the header the function reads, overwriting whatever a client sent.
#[test]
fn the_api_tells_the_function_who_is_asking() {
    let t = template();
    let behaviours = &t["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"];
    let api = behaviours
        .as_array()
        .expect("behaviours")
        .iter()
        .find(|b| b["PathPattern"] == "/api/*")
        .expect("the /api/* behaviour");
    let association = &api["FunctionAssociations"][0];
    assert_eq!(association["EventType"], "viewer-request");
    assert_eq!(association["FunctionARN"]["Fn::GetAtt"][0], "ViewerAddress");
    let code = t["Resources"]["ViewerAddress"]["Properties"]["FunctionCode"]
        .as_str()
        .expect("code");
    assert!(
        code.contains("request.headers['true-client-ip'] = { value: event.viewer.ip }"),
        "{code}"
    );
    let routes = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes.rs"))
        .expect("routes.rs");
    assert!(
        routes.contains("headers.get(\"true-client-ip\")"),
        "the function reads that header"
    );
}

/// The application form uploads straight to the bucket: the site's Content-Security-Policy must
/// let its pages reach the very address the function presigns, and the bucket must answer the
/// browser's CORS preflight for a POST.
#[test]
fn the_form_may_upload_where_the_function_presigns() {
    let t = template();
    let csp = t["Resources"]["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        ["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
        .as_str()
        .expect("a CSP with the bucket's address");
    let uploads = checkout_fn::uploads::Uploads {
        bucket: "${ApplicationsBucket}".into(),
        region: "${AWS::Region}".into(),
        endpoint: None,
    };
    let creds = checkout_fn::uploads::Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "secret".into(),
        session_token: None,
    };
    let post = checkout_fn::uploads::presign_post(&uploads, &creds, "applications/x.zip", "application/zip", 1, 0);
    let origin = post.url.trim_end_matches('/');
    let connect = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("connect-src"))
        .expect("connect-src");
    assert!(
        connect.split_whitespace().any(|s| s == origin),
        "{connect} lacks {origin}"
    );
    let cors = &t["Resources"]["ApplicationsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0];
    assert_eq!(cors["AllowedMethods"], serde_json::json!(["POST"]));
}
