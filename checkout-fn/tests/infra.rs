//! The infrastructure template and the code must agree: the table's keys, index and TTL are the
//! shared crate's, and the function's environment is exactly what its config reads.

use chalet_types::table;
use checkout_fn::config::{REQUIRED, SECRETS};
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
        let known = REQUIRED.contains(&name.as_str()) || SECRETS.iter().any(|s| *name == format!("{s}_PARAMETER"));
        assert!(known, "the template sets {name}, which the function never reads");
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
