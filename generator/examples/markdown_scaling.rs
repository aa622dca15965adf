//! How the Markdown stage's time grows with hostile input: `scripts/bench-markdown` runs this
//! (release build) and prints milliseconds per KB at 10 KB, 100 KB and 1 MB. Flat ms/KB means
//! linear time. Each pattern goes through what a build does with a text: the limit check, and
//! rendering (sanitised) when the text is within the limits.

use chalet::markdown::{check_limits, render};
use pulldown_cmark::HeadingLevel;
use std::time::Instant;

fn patterns(kb: usize) -> Vec<(&'static str, String)> {
    let n = kb * 1024;
    let fill = |unit: &str| unit.repeat(n / unit.len() + 1)[..n].to_string();
    vec![
        ("nested > (refused)", fill(">")),
        ("nested 1. lists (refused)", fill("1. ")),
        ("nested <div> (refused)", fill("<div>")),
        ("image references (refused)", fill("![a](a.png)\n")),
        // The worst accepted shapes: nesting just under the limit, and the most images, repeated.
        (
            "30-deep quotes, repeated",
            fill(&format!("{} deep\n\n", ">".repeat(30))),
        ),
        ("random mix (seeded)", random_mix(n)),
        ("100 images, then text", {
            let mut t = "![a](a.png)\n".repeat(100);
            t.push_str(&fill("Du texte *simple* et [un lien](https://example.org).\n\n"));
            t
        }),
    ]
}

/// Random nesting and image-reference pieces (quotes, list markers, `<div>`s, images, text),
/// from a fixed seed so runs compare: the fuzz-like pattern of the issue, at a given size.
fn random_mix(n: usize) -> String {
    let pieces = [
        "> ",
        "1. ",
        "- ",
        "<div>",
        "</div>",
        "![a](a.png)",
        "*x* ",
        "text ",
        "\n",
        "\n\n",
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut out = String::with_capacity(n + 16);
    while out.len() < n {
        // xorshift64: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(pieces[(state % pieces.len() as u64) as usize]);
    }
    out.truncate(n);
    out
}

fn main() {
    println!("{:<30} {:>8} {:>10} {:>9}", "pattern", "size", "ms", "ms/KB");
    for kb in [10, 100, 1024] {
        for (name, text) in patterns(kb) {
            let started = Instant::now();
            let verdict = check_limits(&text);
            let rendered = if verdict.is_none() {
                render(&text, HeadingLevel::H2, &|_, _| Some("<img>".into())).len()
            } else {
                0
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let size = if kb >= 1024 {
                "1 MB".to_string()
            } else {
                format!("{kb} KB")
            };
            println!(
                "{name:<30} {size:>8} {ms:>10.2} {:>9.4}{}",
                ms / kb as f64,
                if rendered > 0 { "" } else { "  (refused)" }
            );
        }
    }
}
