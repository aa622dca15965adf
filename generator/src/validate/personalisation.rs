//! A product's `personalisation`: the question a shopper answers when ordering it.

use super::chalet::PERSONALISATION_FIELDS;
use crate::yaml::{Node, Reader, Value};
use chalet_types::Personalisation;

/// `personalisation: "Taille de la bague"`, or the whole form
/// `{ label: "Taille de la bague", required: true, max_length: 60 }`. Required unless it says
/// otherwise: a product that asks a question usually cannot be made without the answer.
pub(super) fn personalisation(r: &mut Reader, node: &Node) -> Option<Personalisation> {
    let defaults = |label| Personalisation {
        label,
        required: true,
        max_length: Personalisation::DEFAULT_LENGTH,
    };
    if !matches!(node.value, Value::Map(_)) {
        return r.text(node, "personalisation").map(defaults);
    }
    let pf = r.fields(node, "personalisation", PERSONALISATION_FIELDS)?;
    let label = r
        .required(&pf, "label", "personalisation", "\"Taille de la bague\"")
        .and_then(|n| r.text(n, "label"));
    let required = match pf.get("required") {
        None => Some(true),
        Some(n) => r.yes_no(n, "required", "`required: false` lets shoppers leave it empty"),
    };
    let max_length = match pf.get("max_length") {
        None => Some(Personalisation::DEFAULT_LENGTH),
        Some(n) => r.count(n, "max_length").and_then(|m| {
            let ok = (1..=Personalisation::LONGEST).contains(&m);
            if !ok {
                r.error(
                    n.pos,
                    format!("max_length {m} is out of range"),
                    Some(format!("allow 1 to {} characters", Personalisation::LONGEST)),
                );
            }
            ok.then_some(m)
        }),
    };
    let label = label?;
    if label.chars().count() > 80 {
        r.error(
            pf.get("label").map_or(node.pos, |n| n.pos),
            "the label is too long for a form field".to_string(),
            Some("ask in a few words, e.g. \"Taille de la bague\"; explain in the description".into()),
        );
        return None;
    }
    Some(Personalisation {
        label,
        required: required?,
        max_length: max_length?,
    })
}
