//! `chalet serve` end to end over real HTTP on loopback: it serves the site, rebuilds on an edit,
//! and on a broken edit reports the diagnostics while keeping the last good site.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A plain HTTP/1.1 GET; returns (status, body).
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    get_as(port, path, "127.0.0.1").map(|(status, _, body)| (status, body))
}

/// A GET with this `Host`; returns (status, head, body).
fn get_as(port: u16, path: &str, host: &str) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_string(), body.to_string()))
}

fn wait_json(port: u16, since: u64) -> serde_json::Value {
    let (status, body) = get(port, &format!("/__chalet/wait?v={since}")).expect("wait");
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("json")
}

/// The first build after `since` that `done` accepts: saving a photo and then the text that
/// shows it may make one build or two, as the editor and the file system deliver them.
fn wait_for(port: u16, mut since: u64, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let build = wait_json(port, since);
        if done(&build) || started.elapsed() > Duration::from_secs(30) {
            return build;
        }
        since = build["version"].as_u64().expect("version");
    }
}

#[test]
fn serve_rebuilds_on_change_and_keeps_the_last_good_site_on_error() {
    let tmp = site_in_temp("valid/minimal");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_chalet"))
        .current_dir(tmp.path())
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--themes",
            themes().to_str().expect("utf8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _server = Server(child);
    let started = Instant::now();
    let home = loop {
        match get(port, "/") {
            Ok((200, body)) => break body,
            _ if started.elapsed() < Duration::from_secs(20) => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("server did not come up: {other:?}"),
        }
    };
    assert!(home.contains("/__chalet/reload.js"), "live reload script injected");
    // The production CSP, and nothing for a page that resolved its own name to loopback.
    let (_, head, _) = get_as(port, "/", &format!("localhost:{port}")).expect("get");
    assert!(head.contains(chalet::mime::SITE_CSP), "{head}");
    assert_eq!(
        get_as(port, "/", "evil.example").expect("get").0,
        421,
        "DNS rebinding refused"
    );
    assert_eq!(
        get_as(port, "/", "127.0.0.1:1").expect("get").0,
        421,
        "another port is another site"
    );
    let long = format!("/{}", "a".repeat(9000));
    assert_eq!(get(port, &long).expect("get").0, 414);
    assert_eq!(get(port, "/nope/").expect("get").0, 404);
    assert_eq!(get(port, "/../../etc/passwd").expect("get").0, 404);
    let first = wait_json(port, 0);
    let v1 = first["version"].as_u64().expect("version");
    assert_eq!(first["errors"], "");

    let product = tmp.path().join("content/chalets/cire-et-meche/products/fondants.md");
    std::fs::write(
        &product,
        "---\nname: Fondants de Noël\nprice: \"6,90\"\n---\nNouveau.\n",
    )
    .expect("write");
    let second = wait_json(port, v1);
    let v2 = second["version"].as_u64().expect("version");
    assert!(v2 > v1);
    assert_eq!(second["errors"], "");
    // Only tabs showing what changed reload: the product, its chalet (the name is on its
    // card there) and the pages listing it; not the other chalet's voucher.
    let changed: Vec<&str> = second["changed"]
        .as_array()
        .expect("changed")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        changed.contains(&"chalets/cire-et-meche/fondants/index.html"),
        "{changed:?}"
    );
    assert!(
        !changed.contains(&"chalets/bons-du-carre/menu-pour-deux/index.html"),
        "{changed:?}"
    );
    let (_, page) = get(port, "/chalets/cire-et-meche/fondants/").expect("get");
    assert!(page.contains("Fondants de Noël"), "rebuilt page served");

    // A phone-panorama strip (400×17000) once panicked the encoder and killed the server.
    let strip = image::GrayImage::from_pixel(400, 17_000, image::Luma([180]));
    strip
        .save(tmp.path().join("content/chalets/cire-et-meche/products/strip.png"))
        .expect("png");
    std::fs::write(
        &product,
        "---\nname: Fondants de Noël\nprice: \"6,90\"\nimages:\n  - src: strip.png\n    alt: Une bande\n---\nNouveau.\n",
    )
    .expect("write");
    let strip_build = wait_for(port, v2, |b| b["errors"] != "");
    let errors = strip_build["errors"].as_str().expect("errors");
    assert!(errors.contains("more than 20 times longer than it is wide"), "{errors}");
    let v2 = strip_build["version"].as_u64().expect("version");
    assert_eq!(get(port, "/").expect("the server is still up").0, 200);

    std::fs::write(&product, "---\nname: Fondants cassés\nprice: \"gratuit\"\n---\n").expect("write");
    let third = wait_json(port, v2);
    let errors = third["errors"].as_str().expect("errors");
    assert!(errors.contains("fondants.md:3:8: price `gratuit`"), "{errors}");
    let (status, page) = get(port, "/chalets/cire-et-meche/fondants/").expect("get");
    assert_eq!(status, 200);
    assert!(
        page.contains("Fondants de Noël") && !page.contains("cassés"),
        "the last good site stays"
    );
}

/// Starts `chalet serve` in `dir` (content/, themes/, output dist/) and waits for its first build;
/// returns the server and that build's version.
fn serve_in(dir: &std::path::Path) -> (Server, u16, u64) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_chalet"))
        .current_dir(dir)
        .args(["serve", "--port", &port.to_string(), "--themes", "themes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let server = Server(child);
    let started = Instant::now();
    while !matches!(get(port, "/"), Ok((200, _))) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let v = wait_json(port, 0)["version"].as_u64().expect("version");
    (server, port, v)
}

#[test]
fn serve_keeps_its_listing_true_through_adds_renames_and_deletes() {
    // `serve` lists the content folder once, then only what the watcher reports: after each
    // step its site must be the bytes of a clean build of the same folder.
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    let (_server, port, mut version) = serve_in(dir);
    let products = dir.join("content/chalets/cire-et-meche/products");
    let chalets = dir.join("content/chalets");
    type Step = Box<dyn Fn()>;
    let (p, c) = (products.clone(), chalets.clone());
    let steps: Vec<(&str, Step)> = vec![
        (
            "a product added",
            Box::new(move || {
                std::fs::write(
                    p.join("cones.md"),
                    "---\nname: Cônes\nprice: \"3,50\"\nstock: 4\n---\nParfumés.\n",
                )
                .expect("add")
            }),
        ),
        ("a product renamed", {
            let p = products.clone();
            Box::new(move || std::fs::rename(p.join("cones.md"), p.join("pommes.md")).expect("rename"))
        }),
        ("a product deleted", {
            let p = products.clone();
            Box::new(move || std::fs::remove_file(p.join("pommes.md")).expect("delete"))
        }),
        (
            "a chalet copied in",
            Box::new(move || {
                copy_dir(&c.join("cire-et-meche"), &c.join("lampes"));
                let yaml = c.join("lampes/chalet.yaml");
                std::fs::write(&yaml, read(&yaml).replace("Cire & Mèche", "Lampes")).expect("write");
            }),
        ),
        ("a chalet renamed", {
            let c = chalets.clone();
            Box::new(move || std::fs::rename(c.join("lampes"), c.join("lampes-du-quai")).expect("rename"))
        }),
        ("a hidden file, an editor's backup and an edit", {
            // The first two alone start no build; the listing takes them in all the same.
            let c = chalets.clone();
            Box::new(move || {
                std::fs::write(c.join("lampes-du-quai/.notes.md"), "scratch").expect("hidden");
                std::fs::write(c.join("lampes-du-quai/products/old.md~"), "backup").expect("stray");
                let yaml = c.join("lampes-du-quai/chalet.yaml");
                std::fs::write(&yaml, read(&yaml).replace("Lampes", "Lampes du Quai")).expect("write");
            })
        }),
        ("a chalet deleted", {
            let c = chalets.clone();
            Box::new(move || std::fs::remove_dir_all(c.join("lampes-du-quai")).expect("delete"))
        }),
    ];
    for (step, change) in steps {
        change();
        let want = clean_build(dir, step);
        // The change may reach the server as one build or several.
        let started = Instant::now();
        loop {
            let build = wait_json(port, version);
            version = build["version"].as_u64().expect("version");
            assert_eq!(build["errors"], "", "{step}");
            let got = tree(&dir.join("dist"));
            if got == want {
                eprintln!("{step}: as a clean build after {:?}", started.elapsed());
                break;
            }
            let differ = differing(&got, &want);
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{step}: serve's site differs from a clean build in {differ:?}"
            );
        }
    }
}

/// `serve` keeps the theme it loaded while none of its files changed: a template edited twice,
/// the second time to the same length with the same modification time (two saves in one clock
/// tick), is still read again — a theme file changed within the racy window is never trusted.
#[test]
fn serve_takes_a_template_edit_even_within_one_clock_tick() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    let (_server, port, version) = serve_in(dir);
    let base = dir.join("themes/default/templates/base.html");
    let original = read(&base);
    assert!(original.contains("<footer class=\"site\">"));
    let footer =
        |word: &str| original.replacen("<footer class=\"site\">", &format!("<footer class=\"site\">{word}"), 1);
    std::fs::write(&base, footer("AAAA")).expect("edit");
    let first = wait_for(port, version, |_| read(&dir.join("dist/index.html")).contains(">AAAA"));
    assert!(read(&dir.join("dist/index.html")).contains(">AAAA"), "{first}");
    let stamp = std::fs::metadata(&base).and_then(|m| m.modified()).expect("time");
    std::fs::write(&base, footer("BBBB")).expect("edit");
    std::fs::File::options()
        .write(true)
        .open(&base)
        .and_then(|f| f.set_modified(stamp))
        .expect("same time");
    let version = first["version"].as_u64().expect("version");
    let second = wait_for(port, version, |_| read(&dir.join("dist/index.html")).contains(">BBBB"));
    assert!(read(&dir.join("dist/index.html")).contains(">BBBB"), "{second}");
}
