//! The application form's kit (`exposer/kit.json`): what the artisans' form needs, besides its
//! WebAssembly, to check a chalet exactly as `chalet check` does and to preview it with the
//! site's own templates — `market.yaml` as the organisers wrote it, and the theme's templates,
//! strings and static files. Published beside the form's page only; the form fetches it after
//! first paint, with the checker.

use crate::source::SourceFile;
use crate::theme::{Template, Theme};
use base64::Engine;
use chalet_types::routes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kit's path under the site root, beside the form's page.
pub fn kit_path() -> String {
    format!("{}/kit.json", routes::APPLY_PAGE)
}

/// The images the market itself shows (sponsors' logos), not the chalets': the application
/// form's kit carries them so its check finds what `market.yaml` names. Read from the content
/// folder, which the build has just read them from.
pub fn market_images(site: &crate::model::Site, content: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    site.images
        .iter()
        .filter(|i| !i.rel.starts_with("chalets/"))
        .filter_map(|i| Some((i.rel.clone(), std::fs::read(content.join(&i.rel)).ok()?)))
        .collect()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kit {
    /// `market.yaml`, as written.
    pub market: String,
    pub theme: String,
    /// Every template by name, content overrides applied.
    pub templates: BTreeMap<String, String>,
    /// Where the build published each of the theme's static files (`style.css` →
    /// `assets/style.<hash>.css`): the preview's pages name the site's own stylesheet and script.
    pub assets: BTreeMap<String, String>,
    /// The UI strings in the market's language.
    pub strings: BTreeMap<String, String>,
    /// The market's own images (sponsors' logos…, base64, by path in the content folder):
    /// the check finds what `market.yaml` names, as on disk.
    pub images: BTreeMap<String, String>,
    /// The header `chalet.yaml` starts with, so an editor opening the folder checks it.
    pub chalet_header: String,
}

impl Kit {
    /// `assets`: where the build published each static file (the renderer's
    /// [`asset_paths`](crate::render::Renderer::asset_paths)); `images`: the market's own (not
    /// the chalets'), by path in the content folder.
    pub fn new(
        market: &str,
        theme: &Theme,
        assets: &BTreeMap<String, String>,
        images: &BTreeMap<String, Vec<u8>>,
    ) -> Kit {
        let b64 = base64::engine::general_purpose::STANDARD;
        Kit {
            market: market.to_string(),
            theme: theme.name.clone(),
            templates: theme
                .templates
                .iter()
                .map(|t| (t.name.clone(), t.file.text().to_string()))
                .collect(),
            assets: assets.clone(),
            strings: theme.strings.clone(),
            images: images.iter().map(|(rel, b)| (rel.clone(), b64.encode(b))).collect(),
            chalet_header: crate::schema::CHALET_HEADER.to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        // A map of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The market's images again, by path in the content folder.
    pub fn images(&self) -> Result<BTreeMap<String, Vec<u8>>, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.images
            .iter()
            .map(|(rel, data)| match b64.decode(data.as_bytes()) {
                Ok(bytes) => Ok((rel.clone(), bytes)),
                Err(_) => Err(format!("the kit's image `{rel}` is not base64")),
            })
            .collect()
    }

    /// The theme again, as the build loaded it, its static files by their published paths.
    pub fn theme(&self) -> Theme {
        Theme {
            name: self.theme.clone(),
            templates: self
                .templates
                .iter()
                .map(|(name, text)| Template {
                    name: name.clone(),
                    file: SourceFile::new(
                        name.clone(),
                        format!("themes/{}/templates/{name}", self.theme),
                        text.clone(),
                    ),
                })
                .collect(),
            statics: Vec::new(),
            strings: self.strings.clone(),
            published: Some(self.assets.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::StaticFile;

    #[test]
    fn the_theme_comes_back_from_the_kit_naming_the_published_files() {
        let theme = Theme {
            name: "t".into(),
            templates: vec![Template {
                name: "base.html".into(),
                file: SourceFile::new("base.html", "themes/t/templates/base.html", "<p>{{ x }}</p>".into()),
            }],
            statics: vec![
                StaticFile {
                    rel: "style.css".into(),
                    path: "themes/t/static/style.css".into(),
                    sha256: [7; 32],
                },
                StaticFile {
                    rel: "form/chalet-form.wasm".into(),
                    path: "themes/t/static/form/chalet-form.wasm".into(),
                    sha256: [8; 32],
                },
            ],
            strings: BTreeMap::from([("hello".into(), "bonjour".into())]),
            published: None,
        };
        let logo = BTreeMap::from([("sponsors/a.png".to_string(), vec![1u8, 2, 3])]);
        let assets = BTreeMap::from([("style.css".to_string(), crate::render::asset_path("style.css", b"p{}"))]);
        let json = Kit::new("name: x\n", &theme, &assets, &logo).to_json();
        assert!(
            !json.contains("static/") && !json.contains("[7,7"),
            "the theme's files stay out of the kit, named only as published: {json}"
        );
        let kit: Kit = serde_json::from_str(&json).expect("kit");
        assert_eq!(kit.market, "name: x\n");
        let back = kit.theme();
        assert_eq!(back.templates[0].file.text(), "<p>{{ x }}</p>");
        assert!(back.statics.is_empty());
        let published = back.published.expect("paths");
        assert_eq!(published["style.css"], crate::render::asset_path("style.css", b"p{}"));
        assert!(published["style.css"].starts_with("assets/style.") && published["style.css"].ends_with(".css"));
        assert_eq!(back.strings["hello"], "bonjour");
        assert_eq!(kit.images().expect("images"), logo);
    }
}
