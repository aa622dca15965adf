//! `chalet schema` and the readers agree: every valid file validates against the schemas (as an
//! editor's YAML language server would read it), and a mistake in any kind of field is flagged
//! by both, on the same line.

use crate::common::{chalet, fixture, repo, site_in_temp};
use chalet::yaml::{Node, Value as Yaml};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The three schemas of the market in `content`, compiled.
struct Schemas {
    compiled: boon::Schemas,
    market: boon::SchemaIndex,
    chalet: boon::SchemaIndex,
    product: boon::SchemaIndex,
}

fn schemas_for(content: &Path) -> Schemas {
    let files = chalet::load::load(content, "content").expect("load");
    let market = chalet::validate::market_only(&files);
    let mut compiler = boon::Compiler::new();
    let mut compiled = boon::Schemas::new();
    let mut index = |name: &str, schema: Value| {
        let url = format!("file:///schemas/{name}");
        compiler.add_resource(&url, schema).expect("a valid JSON document");
        compiler.compile(&url, &mut compiled).expect("a valid draft-07 schema")
    };
    let mut got = chalet::schema::schemas(market.as_ref()).into_iter();
    let mut next = |expected: &str| {
        let (name, schema) = got.next().expect("three schemas");
        assert_eq!(name, expected);
        index(name, schema)
    };
    let (market, chalet, product) = (
        next("market.schema.json"),
        next("chalet.schema.json"),
        next("product.schema.json"),
    );
    Schemas {
        compiled,
        market,
        chalet,
        product,
    }
}

/// YAML as JSON, the way the YAML language server sees it.
fn to_json(node: &Node) -> Value {
    match &node.value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone())),
        Yaml::Str(s) => Value::String(s.clone()),
        Yaml::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

/// The YAML of a file (a product's front matter) parsed into positioned nodes; `None` when it
/// is not YAML at all (the readers say so, and so does an editor).
fn yaml_of(path: &Path, rel: &str) -> Option<Node> {
    let text = std::fs::read_to_string(path).expect("read");
    let file = chalet::source::SourceFile::new(rel, rel, text.clone());
    let (yaml, offset) = match chalet::frontmatter::split(&text) {
        Ok(split) if rel.ends_with(".md") => (split.yaml.to_string(), split.yaml_offset),
        Err(_) if rel.ends_with(".md") => return None,
        _ => (text.clone(), 0),
    };
    let mut diags = chalet::Diagnostics::default();
    chalet::yaml::parse(&file, &yaml, chalet::yaml::Embed { offset }, &mut diags)
}

/// Lines of `root` the schema finds wrong: each leaf error at the node it names (an unknown
/// field at its own key).
fn schema_lines(s: &Schemas, index: boon::SchemaIndex, root: &Node) -> BTreeSet<usize> {
    let json = to_json(root);
    let mut lines = BTreeSet::new();
    if let Err(e) = s.compiled.validate(&json, index) {
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            if e.causes.is_empty() {
                let mut node = root;
                for token in &e.instance_location.tokens {
                    node = match (token, &node.value) {
                        (boon::InstanceToken::Prop(p), Yaml::Map(m)) => {
                            &m.iter().find(|(k, _)| k.name == *p).expect("key").1
                        }
                        (boon::InstanceToken::Item(i), Yaml::Seq(items)) => &items[*i],
                        _ => node,
                    };
                }
                match (&e.kind, &node.value) {
                    (boon::ErrorKind::AdditionalProperties { got }, Yaml::Map(m)) => {
                        for name in got {
                            lines.extend(m.iter().filter(|(k, _)| k.name == *name).map(|(k, _)| k.pos.line));
                        }
                    }
                    _ => {
                        lines.insert(node.pos.line);
                    }
                }
            }
            stack.extend(e.causes);
        }
    }
    lines
}

/// Lines of `rel` (in `content`) where `chalet check`'s readers report an error.
fn reader_lines(content: &Path, rel: &str) -> BTreeSet<usize> {
    let files = chalet::load::load(content, "content").expect("load");
    let shown = format!("content/{rel}");
    chalet::validate::validate(&files)
        .diags
        .sorted()
        .into_iter()
        .filter(|d| d.severity == chalet::Severity::Error && d.path == shown)
        .map(|d| d.line)
        .collect()
}

/// Every YAML file of a content folder with the schema it answers to.
fn yaml_files(content: &Path) -> Vec<(String, &'static str)> {
    let mut out = vec![("market.yaml".to_string(), "market")];
    let chalets = content.join("chalets");
    for entry in walkdir::WalkDir::new(&chalets)
        .sort_by_file_name()
        .into_iter()
        .filter(|_| chalets.is_dir())
    {
        let entry = entry.expect("walk");
        let rel = entry
            .path()
            .strip_prefix(content)
            .expect("prefix")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("/chalet.yaml") {
            out.push((rel, "chalet"));
        } else if rel.contains("/products/") && rel.ends_with(".md") && rel.matches('/').count() == 3 {
            out.push((rel, "product"));
        }
    }
    out
}

fn index_of(s: &Schemas, which: &str) -> boon::SchemaIndex {
    match which {
        "market" => s.market,
        "chalet" => s.chalet,
        _ => s.product,
    }
}

#[test]
fn every_valid_file_validates_against_its_schema() {
    let scaffolded = site_in_temp("valid/minimal");
    let new = chalet(scaffolded.path(), &["new", "nouveau-chalet"]);
    assert_eq!(new.code, 0, "{}", new.stderr);
    let folders = [
        repo().join("content"),
        fixture("valid/minimal/content"),
        fixture("valid/photos/content"),
        scaffolded.path().join("content"),
    ];
    let mut checked = 0;
    for content in &folders {
        let s = schemas_for(content);
        for (rel, which) in yaml_files(content) {
            assert!(
                reader_lines(content, &rel).is_empty(),
                "{rel} is not valid to begin with"
            );
            let lines = schema_lines(
                &s,
                index_of(&s, which),
                &yaml_of(&content.join(&rel), &rel).expect("YAML"),
            );
            assert!(
                lines.is_empty(),
                "{}: the {which} schema refuses lines {lines:?}",
                content.join(&rel).display()
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} files checked");
    let header =
        std::fs::read_to_string(scaffolded.path().join("content/chalets/nouveau-chalet/chalet.yaml")).expect("read");
    assert!(header.starts_with(chalet::schema::CHALET_HEADER), "{header}");
}

#[test]
fn a_mistake_in_any_kind_of_field_is_flagged_by_both_on_its_line() {
    let chalet_yaml = "chalets/cire-et-meche/chalet.yaml";
    let product = "chalets/cire-et-meche/products/bougie-sapin.md";
    // (file, text to replace, its replacement): one mistake each, of every kind of value.
    let mistakes: &[(&str, &str, &str)] = &[
        ("market.yaml", "language: fr", "language: es"),
        (
            "market.yaml",
            "base_url: \"https://petit-marche.example/\"",
            "base_url: \"petit-marche.example\"",
        ),
        ("market.yaml", "opens: 2026-11-27", "opens: 27 novembre"),
        ("market.yaml", "fee: \"150.00\"", "fee: \"cent\""),
        ("market.yaml", "language: fr", "language: fr\ncollect_phone: peut-être"),
        ("market.yaml", "language: fr", "language: fr\ncurrency: USD"),
        (
            "market.yaml",
            "language: fr",
            "language: fr\nshipping_countries: [Belgique]",
        ),
        ("market.yaml", "language: fr", "language: fr\nimages: { quality: 0 }"),
        ("market.yaml", "{ slug: bougies,", "{ slug: Bougies,"),
        ("market.yaml", "language: fr", "langage: fr"),
        (
            "market.yaml",
            "email: \"comite@petit-marche.example\"",
            "email: \"comite\"",
        ),
        (chalet_yaml, "category: bougies", "category: bougie"),
        (chalet_yaml, "town: \"Liège\"", "twon: \"Liège\""),
        (chalet_yaml, "tagline: \"Bougies coulées main\"", "tagline: \"  \""),
        (
            chalet_yaml,
            "email: \"anais@example.org\"",
            "email: \"anais-at-example.org\"",
        ),
        (
            chalet_yaml,
            "website: \"https://cire.example\"",
            "website: \"cire.example\"",
        ),
        (chalet_yaml, "price: \"5.90\"", "price: \"5,9,0\""),
        (chalet_yaml, "free_from: 60 }", "free_from: 60, countries: [be] }"),
        (
            chalet_yaml,
            "trader: { legal_name",
            "trader: { kind: company, legal_name",
        ),
        (product, "price: 14.90", "price: douze"),
        (product, "stock: 2", "stock: -1"),
        (product, "stock: 2", "stock: deux"),
        (product, "stock: 2", "stock: 2\nkind: gift"),
        (product, "tags: [sapin, \"fait main\"]", "tags: { sapin: oui }"),
        (product, "  - src: ../cover.png", "  - source: ../cover.png"),
        (
            product,
            "stock: 2",
            "stock: 2\nkind: food\nallergens: [gluten, chocolat]",
        ),
        (product, "stock: 2", "stock: 2\nkind: food\nperishable: peut-être"),
        (product, "stock: 2", "stock: 2\nkind: food\nnet_quantity: beaucoup"),
        (
            product,
            "stock: 2",
            "stock: 2\npersonalisation: { label: \"Prénom\", max_length: 0 }",
        ),
        (product, "stock: 2", "stock: 2\ncouleur: vert"),
    ];
    for (rel, from, to) in mistakes {
        let site = site_in_temp("valid/minimal");
        let content = site.path().join("content");
        let path = content.join(rel);
        let text = std::fs::read_to_string(&path).expect("read");
        let at = text.find(from).unwrap_or_else(|| panic!("`{from}` not in {rel}"));
        let line = text[..at].matches('\n').count() + 1 + to.matches('\n').count();
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        let which = if *rel == "market.yaml" {
            "market"
        } else if rel.ends_with(".md") {
            "product"
        } else {
            "chalet"
        };
        let readers = reader_lines(&content, rel);
        let s = schemas_for(&content);
        let schema = schema_lines(&s, index_of(&s, which), &yaml_of(&path, rel).expect("YAML"));
        assert!(
            readers.contains(&line),
            "{rel}: `{to}`: the readers found nothing on line {line} ({readers:?})"
        );
        assert!(
            schema.contains(&line),
            "{rel}: `{to}`: the schema found nothing on line {line} ({schema:?})"
        );
    }
}

#[test]
fn the_schemas_command_writes_three_documents_with_the_market_s_categories() {
    let site = site_in_temp("valid/minimal");
    let run = chalet(site.path(), &["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written: BTreeSet<String> = std::fs::read_dir(site.path().join("schemas"))
        .expect("schemas/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written,
        ["chalet.schema.json", "market.schema.json", "product.schema.json"]
            .map(String::from)
            .into()
    );
    let chalet: Value =
        serde_json::from_str(&std::fs::read_to_string(site.path().join("schemas/chalet.schema.json")).expect("read"))
            .expect("JSON");
    assert_eq!(
        chalet["properties"]["category"]["enum"],
        serde_json::json!(["bougies", "restaurants"])
    );
    assert_eq!(chalet["$schema"], "http://json-schema.org/draft-07/schema#");
}

#[test]
fn in_the_broken_fixtures_the_schema_flags_only_lines_the_readers_flag() {
    let mut flagged = 0;
    for entry in std::fs::read_dir(fixture("invalid")).expect("fixtures") {
        let content = entry.expect("entry").path().join("content");
        if !content.join("market.yaml").is_file() {
            continue;
        }
        let files = chalet::load::load(&content, "content").expect("load");
        if chalet::validate::market_only(&files).is_none() {
            continue; // a market that cannot be read judges no chalet
        }
        let s = schemas_for(&content);
        for (rel, which) in yaml_files(&content) {
            let path = content.join(&rel);
            let Some(yaml) = yaml_of(&path, &rel) else {
                continue;
            };
            let schema = schema_lines(&s, index_of(&s, which), &yaml);
            let readers = reader_lines(&content, &rel);
            assert!(
                schema.is_subset(&readers),
                "{}: schema {schema:?}, readers {readers:?}",
                path.display()
            );
            flagged += schema.len();
        }
    }
    assert!(
        flagged >= 5,
        "the broken fixtures hold only {flagged} lines the schema can see"
    );
}

#[test]
fn the_committed_schemas_are_the_example_market_s() {
    let files = chalet::load::load(&repo().join("content"), "content").expect("load");
    let market = chalet::validate::market_only(&files);
    for (name, schema) in chalet::schema::schemas(market.as_ref()) {
        let committed = std::fs::read_to_string(repo().join("schemas").join(name)).expect("committed");
        let committed: Value = serde_json::from_str(&committed).expect("JSON");
        assert_eq!(committed, schema, "schemas/{name} is stale: run `cargo run -- schema`");
    }
}
