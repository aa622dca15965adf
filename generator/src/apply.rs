//! The application form's kit (`exposer/kit.json`): what the artisans' form needs, besides its
//! WebAssembly, to check a chalet exactly as `chalet check` does and to preview it with the
//! site's own templates — `market.yaml` as the organisers wrote it, and the theme's templates,
//! strings and static files. Published beside the form's page only; the form fetches it after
//! first paint, with the checker.

use crate::source::SourceFile;
use crate::theme::{StaticFile, Template, Theme};
use base64::Engine;
use chalet_types::routes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kit's path under the site root, beside the form's page.
pub fn kit_path() -> String {
    format!("{}/kit.json", routes::APPLY_PAGE)
}

/// Static files the kit leaves out: the form's own WebAssembly (megabytes, and no page the
/// preview renders names it).
fn left_out(rel: &str) -> bool {
    rel.ends_with(".wasm")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kit {
    /// `market.yaml`, as written.
    pub market: String,
    pub theme: String,
    /// Every template by name, content overrides applied.
    pub templates: BTreeMap<String, String>,
    /// The theme's static files (base64), so the preview's pages name the same hashed assets.
    pub statics: BTreeMap<String, String>,
    /// The UI strings in the market's language.
    pub strings: BTreeMap<String, String>,
    /// The market's own images (sponsors' logos…, base64, by path in the content folder):
    /// the check finds what `market.yaml` names, as on disk.
    pub images: BTreeMap<String, String>,
    /// The header `chalet.yaml` starts with, so an editor opening the folder checks it.
    pub chalet_header: String,
}

impl Kit {
    /// `images`: the market's own (not the chalets'), by path in the content folder.
    pub fn new(market: &str, theme: &Theme, images: &BTreeMap<String, Vec<u8>>) -> Kit {
        let b64 = base64::engine::general_purpose::STANDARD;
        Kit {
            market: market.to_string(),
            theme: theme.name.clone(),
            templates: theme
                .templates
                .iter()
                .map(|t| (t.name.clone(), t.file.text.clone()))
                .collect(),
            statics: theme
                .statics
                .iter()
                .filter(|s| !left_out(&s.rel))
                .map(|s| (s.rel.clone(), b64.encode(&s.bytes)))
                .collect(),
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

    /// The theme again, as the build loaded it (less the files left out).
    pub fn theme(&self) -> Result<Theme, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut statics = Vec::new();
        for (rel, data) in &self.statics {
            let bytes = b64
                .decode(data.as_bytes())
                .map_err(|_| format!("the kit's static file `{rel}` is not base64"))?;
            statics.push(StaticFile {
                rel: rel.clone(),
                bytes,
            });
        }
        Ok(Theme {
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
            statics,
            strings: self.strings.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_comes_back_from_the_kit_without_the_form_itself() {
        let theme = Theme {
            name: "t".into(),
            templates: vec![Template {
                name: "base.html".into(),
                file: SourceFile::new("base.html", "themes/t/templates/base.html", "<p>{{ x }}</p>".into()),
            }],
            statics: vec![
                StaticFile {
                    rel: "style.css".into(),
                    bytes: b"p{}".to_vec(),
                },
                StaticFile {
                    rel: "logo.png".into(),
                    bytes: vec![0x89, b'P', b'N', b'G', 0, 255],
                },
                StaticFile {
                    rel: "form/chalet-form.wasm".into(),
                    bytes: vec![0, b'a', b's', b'm'],
                },
            ],
            strings: BTreeMap::from([("hello".into(), "bonjour".into())]),
        };
        let logo = BTreeMap::from([("sponsors/a.png".to_string(), vec![1u8, 2, 3])]);
        let json = Kit::new("name: x\n", &theme, &logo).to_json();
        let kit: Kit = serde_json::from_str(&json).expect("kit");
        assert_eq!(kit.market, "name: x\n");
        let back = kit.theme().expect("theme");
        assert_eq!(back.templates[0].file.text, "<p>{{ x }}</p>");
        let statics: Vec<_> = back.statics.iter().map(|s| (s.rel.as_str(), s.bytes.clone())).collect();
        assert_eq!(
            statics,
            [
                ("logo.png", vec![0x89, b'P', b'N', b'G', 0, 255]),
                ("style.css", b"p{}".to_vec())
            ]
        );
        assert_eq!(back.strings["hello"], "bonjour");
        assert_eq!(kit.images().expect("images"), logo);
    }
}
