//! Markdown to sanitised HTML. Artisans' text is untrusted: whatever raw HTML they write goes
//! through ammonia, so no script, event handler or `javascript:` URL survives.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::HashSet;
use std::sync::OnceLock;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// Images become a placeholder `<img src="chalet-image:N">` that ammonia lets through, and are
/// replaced by the real markup only after sanitising: artisans' own HTML can never inject
/// `srcset` or other image markup.
const PLACEHOLDER: &str = "chalet-image:";

/// Renders to sanitised HTML. Headings are shifted so the text's highest heading becomes `top`
/// (the page owns its `<h1>`, and no level is skipped). Each image destination is passed, with
/// its alt text (HTML-escaped), to `image`, whose markup replaces it; `None` drops the image.
pub fn render(text: &str, top: HeadingLevel, image: &dyn Fn(&str, &str) -> Option<String>) -> String {
    let highest = Parser::new_ext(text, options())
        .filter_map(|ev| match ev {
            Event::Start(Tag::Heading { level, .. }) => Some(level as usize),
            _ => None,
        })
        .min()
        .unwrap_or(1);
    let shift = (top as usize).saturating_sub(highest);
    let demote =
        |level: HeadingLevel| HeadingLevel::try_from((level as usize + shift).min(6)).unwrap_or(HeadingLevel::H6);
    let mut events = Vec::new();
    let mut images: Vec<(String, String)> = Vec::new();
    let mut in_image: Option<(String, String)> = None;
    for ev in Parser::new_ext(text, options()) {
        if let Some((_, alt)) = &mut in_image {
            match ev {
                Event::End(TagEnd::Image) => {
                    let (dest, alt) = in_image.take().unwrap_or_default();
                    events.push(Event::Html(CowStr::from(format!(
                        r#"<img src="{PLACEHOLDER}{}" alt="">"#,
                        images.len()
                    ))));
                    images.push((dest, escape(alt.trim())));
                }
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(Tag::Image { dest_url, .. }) => in_image = Some((dest_url.into_string(), String::new())),
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => events.push(Event::Start(Tag::Heading {
                level: demote(level),
                id,
                classes,
                attrs,
            })),
            Event::End(TagEnd::Heading(level)) => events.push(Event::End(TagEnd::Heading(demote(level)))),
            other => events.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    let clean = sanitizer().clean(&html).to_string();
    // Replace our placeholders (and any an artisan typed: those index nothing and are dropped),
    // in one pass: searching from the start for each one was quadratic in the image count.
    let marker = format!("<img src=\"{PLACEHOLDER}");
    let mut out = String::with_capacity(clean.len());
    let mut rest = clean.as_str();
    while let Some(start) = rest.find(&marker) {
        out.push_str(&rest[..start]);
        let tag_len = rest[start..].find('>').map_or(rest.len() - start, |e| e + 1);
        let tag = &rest[start..start + tag_len];
        let n: Option<usize> = tag[marker.len()..].split('"').next().and_then(|d| d.parse().ok());
        if let Some(markup) = n.and_then(|n| images.get(n)).and_then(|(dest, alt)| image(dest, alt)) {
            out.push_str(&markup);
        }
        rest = &rest[start + tag_len..];
    }
    out.push_str(rest);
    out
}

/// How deeply a text may nest (quotes, lists, emphasis, raw HTML elements): the sanitiser's
/// HTML parser is quadratic in nesting depth, and no real description needs more.
pub const MAX_NESTING: usize = 32;
/// How many images one text may show.
pub const MAX_IMAGES: usize = 100;

/// HTML elements that never take content, so never nest.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
];

/// The nesting change of a piece of raw HTML: +1 per opening tag, −1 per closing one.
fn html_depth_change(html: &str) -> isize {
    let mut change = 0isize;
    let bytes = html.as_bytes();
    for (i, _) in html.match_indices('<') {
        let after = &html[i + 1..];
        if let Some(name) = after.strip_prefix('/') {
            if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                change -= 1;
            }
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || VOID.contains(&name.as_str()) {
            continue;
        }
        let end = after.find('>').map_or(bytes.len(), |e| i + 1 + e);
        if html[..end].ends_with('/') {
            continue; // self-closing
        }
        change += 1;
    }
    change
}

/// Why a text is refused before rendering: `(byte offset, message, hint)`.
pub type Refusal = (usize, String, String);

/// What makes a text too costly to render, if anything. Run before rendering, in time linear
/// in the text.
pub fn check_limits(text: &str) -> Option<Refusal> {
    scan(text).err()
}

/// Every image destination with its byte offset in `text` (pointing at the destination, not
/// the `![`), for validation.
pub fn image_refs(text: &str) -> Vec<(String, usize)> {
    scan(text).unwrap_or_default()
}

/// One pass over the text for validation: its image references, or why it is refused (too
/// deep, too many images).
pub fn scan(text: &str) -> Result<Vec<(String, usize)>, Refusal> {
    let mut depth: isize = 0;
    let mut html_depth: isize = 0;
    let mut images = Vec::new();
    for (ev, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::Image { dest_url, .. }) => {
                if images.len() == MAX_IMAGES {
                    return Err((
                        range.start,
                        format!("a text may show at most {MAX_IMAGES} images"),
                        "move the other photos to the product's `images:` list or to other products".into(),
                    ));
                }
                let at = text[range.clone()]
                    .find(dest_url.as_ref())
                    .map_or(range.start, |i| range.start + i);
                images.push((dest_url.into_string(), at));
                depth += 1;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            Event::Html(h) | Event::InlineHtml(h) => html_depth = (html_depth + html_depth_change(&h)).max(0),
            _ => {}
        }
        if depth + html_depth > MAX_NESTING as isize {
            return Err((
                range.start,
                format!("the text nests more than {MAX_NESTING} levels deep (quotes, lists or HTML elements)"),
                "flatten it: no description needs that many levels".into(),
            ));
        }
    }
    Ok(images)
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static CLEAN: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(HashSet::from(["http", "https", "mailto", "tel", "chalet-image"]))
            .link_rel(Some("noopener nofollow ugc"))
            // ids from artisans could collide with the theme's; footnotes keep working through prefixing.
            .id_prefix(Some("md-"))
            .add_generic_attributes(["id"]);
        // Our own image markup is added after cleaning; nothing here lets artisans write it.
        b
    })
}

pub use chalet_types::html::escape;

/// The first paragraph's text, shortened: for meta descriptions.
pub fn summary(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut started = false;
    for ev in Parser::new_ext(text, options()) {
        match ev {
            Event::Start(Tag::Paragraph) => started = true,
            Event::End(TagEnd::Paragraph) if started => break,
            Event::Text(t) | Event::Code(t) if started => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak if started => out.push(' '),
            _ => {}
        }
    }
    if out.chars().count() > max_chars {
        let cut: String = out.chars().take(max_chars).collect();
        let cut = cut
            .rsplit_once(' ')
            .map_or(cut.as_str(), |(a, _)| a)
            .trim_end_matches([',', ';', ':', '.']);
        format!("{cut}…")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(md: &str) -> String {
        render(md, HeadingLevel::H2, &|_, _| None)
    }

    #[test]
    fn strips_scripts_handlers_and_javascript_urls() {
        let html = plain(
            "<script>alert(1)</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"x()\">x</a> [y](javascript:alert(2)) <img src=x onerror=alert(3)>",
        );
        for bad in ["<script", "onclick", "javascript:", "onerror"] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
    }

    #[test]
    fn links_get_safe_rel_and_headings_are_demoted() {
        let html = plain("# Titre\n\n[site](https://example.org)");
        assert!(html.contains("<h2>Titre</h2>"), "{html}");
        assert!(html.contains(r#"rel="noopener nofollow ugc""#), "{html}");
        let html = plain("## A\n\n### B\n");
        assert!(
            html.contains("<h2>A</h2>") && html.contains("<h3>B</h3>"),
            "no level skipped: {html}"
        );
        let deep = render("# A", HeadingLevel::H3, &|_, _| None);
        assert!(deep.contains("<h3>A</h3>"), "{deep}");
    }

    #[test]
    fn images_are_resolved_or_dropped() {
        let resolve = |d: &str, alt: &str| {
            (d == "a.jpg").then(|| format!(r#"<picture><img src="/x.jpg" alt="{alt}"></picture>"#))
        };
        let html = render(
            "![Une *bougie* & \"co\"](a.jpg) ![x](b.jpg)",
            HeadingLevel::H2,
            &resolve,
        );
        assert!(
            html.contains(r#"<picture><img src="/x.jpg" alt="Une bougie &amp; &quot;co&quot;"></picture>"#),
            "{html}"
        );
        assert!(!html.contains("b.jpg") && !html.contains("chalet-image"), "{html}");
    }

    #[test]
    fn artisans_cannot_forge_image_markup() {
        let resolve = |_: &str, _: &str| Some("<picture>ok</picture>".to_string());
        let md = r#"<img src="chalet-image:0" srcset="https://evil.example/x.jpg 1w"> <picture><source srcset="https://evil.example/t.jpg"></picture>"#;
        let html = render(md, HeadingLevel::H2, &resolve);
        assert!(!html.contains("evil.example") && !html.contains("<source"), "{html}");
    }

    #[test]
    fn finds_image_offsets() {
        let refs = image_refs("intro\n\n![x](photo.jpg)\n");
        assert_eq!(refs, vec![("photo.jpg".to_string(), 12)]);
    }

    #[test]
    fn limits_are_found_with_their_position() {
        assert_eq!(check_limits("plain *text* > quote\n\n> one level"), None);
        let deep = ">".repeat(40) + " deep";
        let (at, message, _) = check_limits(&deep).expect("too deep");
        assert!(message.contains("32 levels"), "{message}");
        assert!(at < 40, "{at}");
        let divs = "<div>".repeat(40) + "x";
        assert!(check_limits(&divs).is_some(), "raw HTML counts");
        let balanced = "<div>x</div>\n".repeat(200);
        assert_eq!(check_limits(&balanced), None, "closed elements do not add up");
        let pictures = "![a](a.png)\n".repeat(MAX_IMAGES + 1);
        let (at, message, _) = check_limits(&pictures).expect("too many images");
        assert!(message.contains("at most 100 images"), "{message}");
        assert_eq!(at, 12 * MAX_IMAGES, "at the first image over the limit");
    }

    #[test]
    fn many_images_are_placed_in_order() {
        let text = (0..50)
            .map(|i| format!("![{i}](p{i}.png)"))
            .collect::<Vec<_>>()
            .join("\n\n");
        let html = render(&text, HeadingLevel::H2, &|dest, _| Some(format!("[{dest}]")));
        let order: Vec<usize> = (0..50)
            .map(|i| html.find(&format!("[p{i}.png]")).expect("placed"))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert!(!html.contains(PLACEHOLDER));
    }

    #[test]
    fn summary_cuts_at_a_word() {
        assert_eq!(
            summary("Une bougie coulée à la main, parfumée au sapin.", 20),
            "Une bougie coulée à…"
        );
    }
}
