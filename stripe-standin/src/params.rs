//! The form parameters `POST /v1/checkout/sessions` accepts, checked the way Stripe documents
//! them: unknown names, malformed indices and bad values are refused with Stripe's error shape.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A Stripe `invalid_request_error`.
#[derive(Debug, PartialEq, Eq)]
pub struct ParamError {
    pub code: &'static str,
    pub param: String,
    pub message: String,
}

impl ParamError {
    pub fn to_json(&self) -> Value {
        json!({ "error": { "type": "invalid_request_error", "code": self.code, "param": self.param, "message": self.message } })
    }
}

fn unknown(param: &str) -> ParamError {
    ParamError {
        code: "parameter_unknown",
        param: param.into(),
        message: format!("Received unknown parameter: {param}"),
    }
}

fn invalid(param: &str, message: impl Into<String>) -> ParamError {
    ParamError {
        code: "parameter_invalid",
        param: param.into(),
        message: message.into(),
    }
}

/// Splits `line_items[0][price_data][currency]` into `["line_items", "0", "price_data", "currency"]`.
fn path(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut out = vec![head];
    while !rest.is_empty() {
        let end = rest.find(']')?;
        if !rest.starts_with('[') {
            return None;
        }
        out.push(&rest[1..end]);
        rest = &rest[end + 1..];
    }
    Some(out)
}

pub const LOCALES: &[&str] = &[
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu",
    "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv",
    "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
];
pub const PAYMENT_METHODS: &[&str] = &[
    "card",
    "bancontact",
    "ideal",
    "eps",
    "giropay",
    "sofort",
    "sepa_debit",
    "link",
    "paypal",
    "klarna",
];

/// A validated session request, as the fields of the object Stripe would create.
#[derive(Debug, Default, PartialEq)]
pub struct SessionParams {
    pub mode: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub line_items: Vec<LineItem>,
    pub currency: Option<String>,
    pub expires_at: Option<i64>,
    pub client_reference_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub locale: Option<String>,
    pub payment_method_types: Vec<String>,
    pub customer_email: Option<String>,
    /// `payment_intent_data[metadata]`: set on the PaymentIntent the session creates.
    pub payment_intent_metadata: BTreeMap<String, String>,
    /// `shipping_address_collection[allowed_countries]`: the page asks for an address in one.
    pub shipping_countries: Vec<String>,
    /// `phone_number_collection[enabled]`.
    pub collect_phone: bool,
}

#[derive(Debug, Default, PartialEq, Clone)]
pub struct LineItem {
    pub name: String,
    pub description: Option<String>,
    pub unit_amount: i64,
    pub currency: String,
    pub quantity: i64,
}

fn int(param: &str, v: &str) -> Result<i64, ParamError> {
    v.parse().map_err(|_| invalid(param, format!("Invalid integer: {v}")))
}

/// Parses and validates the form body; `now` is the current Unix time.
pub fn parse(pairs: &[(String, String)], now: i64) -> Result<SessionParams, ParamError> {
    let mut p = SessionParams::default();
    let mut items: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut methods: BTreeMap<usize, String> = BTreeMap::new();
    for (key, value) in pairs {
        let Some(parts) = path(key) else {
            return Err(invalid(key, format!("Invalid parameter name: {key}")));
        };
        match parts.as_slice() {
            ["mode"] => {
                if !["payment", "setup", "subscription"].contains(&value.as_str()) {
                    return Err(invalid(
                        key,
                        format!("Invalid mode: must be one of payment, setup, or subscription (got {value})"),
                    ));
                }
                p.mode = value.clone();
            }
            ["success_url"] | ["cancel_url"] => {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(invalid(key, "Not a valid URL"));
                }
                if parts[0] == "success_url" {
                    p.success_url = Some(value.clone())
                } else {
                    p.cancel_url = Some(value.clone())
                }
            }
            ["expires_at"] => {
                let t = int(key, value)?;
                // No slack: Stripe measures from its own clock, and so must the caller.
                if t < now + 30 * 60 || t > now + 24 * 3600 {
                    return Err(invalid(
                        key,
                        "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours from Checkout Session creation.",
                    ));
                }
                p.expires_at = Some(t);
            }
            ["client_reference_id"] => {
                if value.is_empty() || value.len() > 200 {
                    return Err(invalid(key, "client_reference_id must be 1 to 200 characters"));
                }
                p.client_reference_id = Some(value.clone());
            }
            ["customer_email"] => {
                if !value.contains('@') {
                    return Err(invalid(key, format!("Invalid email address: {value}")));
                }
                p.customer_email = Some(value.clone());
            }
            ["locale"] => {
                if !LOCALES.contains(&value.as_str()) {
                    return Err(invalid(key, format!("Invalid locale: {value}")));
                }
                p.locale = Some(value.clone());
            }
            ["metadata", k] | ["payment_intent_data", "metadata", k] => {
                let map = if parts[0] == "metadata" {
                    &mut p.metadata
                } else {
                    &mut p.payment_intent_metadata
                };
                if k.is_empty() || k.len() > 40 || value.len() > 500 || map.len() >= 50 {
                    return Err(invalid(
                        key,
                        "Metadata keys are at most 40 characters, values at most 500, at most 50 keys",
                    ));
                }
                map.insert((*k).to_string(), value.clone());
            }
            ["payment_method_types" | "allowed_payment_method_types", i] => {
                let i: usize = i.parse().map_err(|_| invalid(key, "Invalid array index"))?;
                if !PAYMENT_METHODS.contains(&value.as_str()) {
                    return Err(invalid(
                        key,
                        format!(
                            "Invalid payment_method_types[{i}]: must be one of {}",
                            PAYMENT_METHODS.join(", ")
                        ),
                    ));
                }
                methods.insert(i, value.clone());
            }
            ["shipping_address_collection", "allowed_countries", i] => {
                i.parse::<usize>().map_err(|_| invalid(key, "Invalid array index"))?;
                let known = value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase());
                if !known {
                    return Err(invalid(key, format!("Invalid allowed_countries: {value}")));
                }
                p.shipping_countries.push(value.clone());
            }
            ["phone_number_collection", "enabled"] => {
                p.collect_phone = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(key, format!("Invalid boolean: {value}"))),
                };
            }
            ["line_items", i, rest @ ..] => {
                let i: usize = i.parse().map_err(|_| invalid(key, "Invalid array index"))?;
                let allowed: &[&[&str]] = &[
                    &["quantity"],
                    &["price_data", "currency"],
                    &["price_data", "unit_amount"],
                    &["price_data", "tax_behavior"],
                    &["price_data", "product_data", "name"],
                    &["price_data", "product_data", "description"],
                ];
                if !allowed.contains(&rest) && !matches!(rest, ["price_data", "product_data", "metadata", _]) {
                    return Err(unknown(key));
                }
                items.entry(i).or_default().insert(rest.join("."), value.clone());
            }
            _ => return Err(unknown(key)),
        }
    }
    if p.mode.is_empty() {
        return Err(invalid("mode", "Missing required param: mode."));
    }
    if p.success_url.is_none() {
        return Err(invalid("success_url", "Missing required param: success_url."));
    }
    if items.is_empty() && p.mode == "payment" {
        return Err(invalid(
            "line_items",
            "You must specify `line_items` in `payment` mode.",
        ));
    }
    if items.len() > 100 {
        return Err(invalid("line_items", "You may only specify up to 100 line items."));
    }
    for (n, (i, fields)) in items.iter().enumerate() {
        if *i != n {
            return Err(invalid(
                &format!("line_items[{i}]"),
                "Invalid array: indices must start at 0 and be consecutive",
            ));
        }
        let get = |k: &str| fields.get(k).cloned();
        let name = get("price_data.product_data.name").ok_or_else(|| {
            invalid(
                &format!("line_items[{i}][price_data][product_data][name]"),
                "Missing required param: line_items[0][price_data][product_data][name].",
            )
        })?;
        let currency = get("price_data.currency").ok_or_else(|| {
            invalid(
                &format!("line_items[{i}][price_data][currency]"),
                "Missing required param: currency.",
            )
        })?;
        if currency.len() != 3 || currency != currency.to_lowercase() {
            return Err(invalid(
                &format!("line_items[{i}][price_data][currency]"),
                format!("Invalid currency: {currency}"),
            ));
        }
        if let Some(t) = get("price_data.tax_behavior")
            && !["inclusive", "exclusive", "unspecified"].contains(&t.as_str())
        {
            return Err(invalid(
                &format!("line_items[{i}][price_data][tax_behavior]"),
                format!("Invalid tax_behavior: must be one of inclusive, exclusive, or unspecified (got {t})"),
            ));
        }
        let unit_amount = int("unit_amount", &get("price_data.unit_amount").unwrap_or_default())?;
        let quantity = int("quantity", &get("quantity").unwrap_or_default())?;
        if unit_amount < 0 || quantity < 1 {
            return Err(invalid(
                &format!("line_items[{i}]"),
                "This value must be greater than or equal to 1 (quantity) and 0 (unit_amount).",
            ));
        }
        if let Some(c) = &p.currency
            && *c != currency
        {
            return Err(invalid(
                &format!("line_items[{i}][price_data][currency]"),
                "All line items must use the same currency.",
            ));
        }
        p.currency = Some(currency.clone());
        p.line_items.push(LineItem {
            name,
            description: get("price_data.product_data.description"),
            unit_amount,
            currency,
            quantity,
        });
    }
    p.payment_method_types = methods.into_values().collect();
    Ok(p)
}

/// Fills Stripe's published example session with this request's values.
pub fn session_object(template: &Value, id: &str, p: &SessionParams, base_url: &str, now: i64) -> Value {
    let mut s = template.clone();
    let total: i64 = p.line_items.iter().map(|l| l.unit_amount * l.quantity).sum();
    let o = s.as_object_mut().expect("the fixture is an object");
    let set = |o: &mut Map<String, Value>, k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    set(o, "id", json!(id));
    set(o, "object", json!("checkout.session"));
    set(o, "created", json!(now));
    set(o, "expires_at", json!(p.expires_at.unwrap_or(now + 24 * 3600)));
    set(o, "mode", json!(p.mode));
    set(o, "status", json!("open"));
    set(o, "payment_status", json!("unpaid"));
    set(o, "payment_intent", Value::Null);
    set(o, "amount_subtotal", json!(total));
    set(o, "amount_total", json!(total));
    set(o, "currency", json!(p.currency));
    set(o, "success_url", json!(p.success_url));
    set(o, "cancel_url", json!(p.cancel_url));
    set(o, "client_reference_id", json!(p.client_reference_id));
    set(o, "customer_email", json!(p.customer_email));
    set(o, "customer_details", Value::Null);
    set(o, "locale", json!(p.locale));
    set(o, "metadata", json!(p.metadata));
    let methods = if p.payment_method_types.is_empty() {
        vec!["card".to_string()]
    } else {
        p.payment_method_types.clone()
    };
    set(o, "payment_method_types", json!(methods));
    set(o, "shipping_cost", Value::Null);
    set(
        o,
        "shipping_address_collection",
        if p.shipping_countries.is_empty() {
            Value::Null
        } else {
            json!({ "allowed_countries": p.shipping_countries })
        },
    );
    set(o, "phone_number_collection", json!({ "enabled": p.collect_phone }));
    set(o, "collected_information", Value::Null);
    set(
        o,
        "total_details",
        json!({ "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 }),
    );
    set(o, "url", json!(format!("{base_url}/pay/{id}")));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn valid() -> Vec<(String, String)> {
        pairs(&[
            ("mode", "payment"),
            ("success_url", "https://x.example/ok?session_id={CHECKOUT_SESSION_ID}"),
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][unit_amount]", "1490"),
            ("line_items[0][price_data][product_data][name]", "Bougie"),
            ("line_items[0][quantity]", "2"),
            ("metadata[reservation]", "r1"),
            ("payment_method_types[0]", "card"),
            ("payment_method_types[1]", "bancontact"),
            ("expires_at", "4000"),
        ])
    }

    #[test]
    fn accepts_a_documented_request() {
        let p = parse(&valid(), 2000).expect("valid");
        assert_eq!(p.line_items[0].unit_amount, 1490);
        assert_eq!(p.payment_method_types, vec!["card", "bancontact"]);
    }

    #[test]
    fn refuses_unknown_and_malformed_parameters() {
        let mut v = valid();
        v.push(("line_items[0][price_data][unit_amount_decimal]".into(), "1".into()));
        assert_eq!(parse(&v, 2000).expect_err("refused").code, "parameter_unknown");
        let mut v = valid();
        v.push(("colour".into(), "red".into()));
        assert_eq!(parse(&v, 2000).expect_err("refused").param, "colour");
        let mut v = valid();
        v[5].1 = "0".into();
        assert_eq!(parse(&v, 2000).expect_err("refused").code, "parameter_invalid");
        assert!(parse(&valid(), 3900).is_err(), "expires_at under 30 minutes away");
        let mut v = valid();
        v.push(("line_items[0][price_data][tax_behavior]".into(), "included".into()));
        assert_eq!(parse(&v, 2000).expect_err("refused").code, "parameter_invalid");
        let mut v = valid();
        v.push(("line_items[0][price_data][tax_behavior]".into(), "inclusive".into()));
        v.push(("payment_intent_data[metadata][reservation]".into(), "r1".into()));
        let p = parse(&v, 2000).expect("documented parameters");
        assert_eq!(
            p.payment_intent_metadata.get("reservation").map(String::as_str),
            Some("r1")
        );
        let mut v = valid();
        v.push(("payment_intent_data[capture_method]".into(), "manual".into()));
        assert_eq!(
            parse(&v, 2000).expect_err("not something we send").code,
            "parameter_unknown"
        );
    }
}
