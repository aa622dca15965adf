//! `chalet new <slug>`: a commented chalet folder that passes `chalet check` as it is, so an
//! artisan edits a working example rather than starting from a blank page.

use chalet_types::Slug;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("`{given}` is not a valid chalet slug: {reason}{}", suggestion.as_ref().map(|s| format!(" (try `{s}`)")).unwrap_or_default())]
    BadSlug {
        given: String,
        reason: chalet_types::SlugError,
        suggestion: Option<String>,
    },
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("cannot read market.yaml in {0}: fix it first (`chalet check`)")]
    NoMarket(PathBuf),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Creates `content/chalets/<slug>/` and returns its path.
pub fn new_chalet(content: &Path, slug: &str) -> Result<PathBuf, ScaffoldError> {
    let slug = Slug::parse(slug).map_err(|reason| {
        let fixed = chalet_types::slugify(slug);
        ScaffoldError::BadSlug {
            given: slug.to_string(),
            reason,
            suggestion: (!fixed.is_empty()).then_some(fixed),
        }
    })?;
    let dir = content.join("chalets").join(slug.as_str());
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir));
    }
    let files = crate::load::load(content, &content.display().to_string())?;
    let market = crate::validate::market_only(&files).ok_or_else(|| ScaffoldError::NoMarket(content.to_path_buf()))?;
    let category = market
        .categories
        .first()
        .map(|c| c.slug.to_string())
        .unwrap_or_default();
    let all: Vec<String> = market.categories.iter().map(|c| c.slug.to_string()).collect();
    let yaml = CHALET_YAML
        .replace("{category}", &category)
        .replace("{categories}", &all.join(", "));
    let yaml = format!("{}\n{yaml}", crate::schema::CHALET_HEADER);
    crate::fs::write(&dir.join("chalet.yaml"), yaml.as_bytes())?;
    crate::fs::write(&dir.join("about.md"), ABOUT_MD.as_bytes())?;
    crate::fs::write(
        &dir.join("products").join("mon-premier-produit.md"),
        PRODUCT_MD.as_bytes(),
    )?;
    Ok(dir)
}

const CHALET_YAML: &str = r#"# (The line above lets an editor such as VS Code with the YAML extension check this file as
# you type; `chalet schema` writes the schemas it names.)
# Your chalet. Lines starting with # are comments: read them, then delete them if you like.
# Fields marked (required) must be filled in; the others can be removed.

name: "Mon chalet"               # (required) the name on your chalet's sign
artisan: "Prénom Nom"            # (required) who makes and sells
town: "Liège"                    # (required) where your workshop is
category: {category}               # (required) one of: {categories}
tagline: "Fait main, avec amour"  # one short line under the name

# cover: cover.jpg               # a wide photo of your stall or workshop, in this folder
# logo: logo.png                 # your logo, square if possible

contact:
  email: "bonjour@example.org"
  # phone: "+32 4 000 00 00"
  # website: "https://example.org/"

# Who sells, as the law asks a market to show it (on your chalet's page).
trader:
  legal_name: "Prénom Nom"       # (required) your name, or your company's
  kind: trader                   # trader (a business) or private (a private person: no enterprise number)
  enterprise_number: "0123.456.749"  # (required for a trader) your KBO/BCE number, checked
  address: "Rue de l'Exemple 1, 4000 Liège"  # (required) where you can be reached by post

# How shoppers receive what they buy: pickup, shipping, or both.
# (A chalet that only sells vouchers needs neither.)
fulfilment:
  pickup: "À l'atelier, rue de l'Exemple 1, Liège — samedi de 10 h à 17 h"
  # shipping:
  #   price: "5.90"              # in euros, VAT included
  #   free_from: "60.00"         # free shipping from this basket amount
"#;

const ABOUT_MD: &str = "Racontez ici votre histoire : qui vous êtes, ce que vous fabriquez, et pourquoi.\n\nVous pouvez utiliser du **gras**, de l'*italique* et des [liens](https://example.org/).\n";

const PRODUCT_MD: &str = r#"---
# One file per product; the file name (here mon-premier-produit) is the product's address.
name: "Mon premier produit"    # (required)
price: "12.50"                 # (required) euros, VAT included: "12.50" or "12,50"
stock: 10                      # how many you have; remove the line for made-to-order, 0 = sold out
kind: goods                    # goods, food (then give net_quantity and allergens) or voucher
# net_quantity: "250 g"        # food: g, kg, ml, cl or l — the price per kg or litre is shown
# allergens: ["lait", "gluten"] # food: the 14 allergens of EU law, in French, Dutch, German or English
# personalisation: "Prénom à graver"  # asked of the shopper for each one bought
# images:
#   - src: photo.jpg           # a file in this folder
#     alt: "Describe the photo for people who cannot see it"
tags: ["fait main"]
---
Décrivez votre produit : matières, dimensions, conseils d'utilisation.
"#;
