//! `GET /pay/{id}`: a tiny hosted-checkout page, asking for what the session collects (name,
//! phone, an address); its button pays the session and follows `success_url`, as Stripe's does.

use super::*;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) async fn page(State(s): State<StandIn>, Path(id): Path<String>) -> Response {
    let Some(session) = s
        .store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .sessions
        .get(&id)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "No such session").into_response();
    };
    let total = session["amount_total"].as_i64().unwrap_or(0);
    // The fields Checkout asks for, as the session collects them.
    let field = |name: &str, label: &str| {
        format!("<p><label for=\"{name}\">{label}</label> <input id=\"{name}\" name=\"{name}\" required></p>")
    };
    let mut fields = field("name", "Name");
    if session["phone_number_collection"]["enabled"] == true {
        fields.push_str(&field("phone", "Phone"));
    }
    if let Some(countries) = session["shipping_address_collection"]["allowed_countries"].as_array() {
        fields.push_str(&field("line1", "Address"));
        fields.push_str(&field("postal_code", "Postal code"));
        fields.push_str(&field("city", "City"));
        let options: String = countries
            .iter()
            .filter_map(Value::as_str)
            .map(|c| format!("<option>{}</option>", esc(c)))
            .collect();
        fields.push_str(&format!(
            "<p><label for=\"country\">Country</label> <select id=\"country\" name=\"country\">{options}</select></p>"
        ));
    }
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Stripe stand-in</title></head><body>\
         <h1>Stripe stand-in checkout</h1><p>Session <code>{}</code>: {}.{:02} {}</p>\
         <form method=\"post\">{fields}<button type=\"submit\">Pay</button></form>\
         <p><a href=\"{}\">Cancel</a></p></body></html>",
        esc(&id),
        total / 100,
        total % 100,
        esc(&session["currency"].as_str().unwrap_or("").to_uppercase()),
        esc(session["cancel_url"].as_str().unwrap_or("/"))
    ))
    .into_response()
}

pub(crate) async fn form(State(s): State<StandIn>, Path(id): Path<String>, body: String) -> Response {
    let form: HashMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let text = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let shopper = Shopper {
        email: None,
        name: text("name"),
        phone: text("phone"),
        address: text("line1").map(|line1| {
            json!({ "line1": line1, "postal_code": text("postal_code"), "city": text("city"), "country": text("country") })
        }),
    };
    let event = match s.transition(&id, "pay", &shopper) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    if let Some(url) = s.target() {
        let _ = s.deliver(&event, &url).await;
    }
    let success = event["data"]["object"]["success_url"]
        .as_str()
        .unwrap_or("/")
        .replace("{CHECKOUT_SESSION_ID}", &id);
    Redirect::to(&success).into_response()
}
