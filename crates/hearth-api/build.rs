//! The web app (`web/`) into the binary, ready to serve: every file under `web/app/` is named by
//! its content (`main.js` → `main.1f2e3d4c.js`, so browsers may cache it for good) and gzipped
//! once here rather than on every request. `index.html` gets an import map from the plain module
//! names to the named ones, so modules import each other by their plain names; `"/app/NAME"` in
//! the page, the style sheets and the manifest becomes the named path. The Content-Security-Policy
//! allows exactly that import map by its SHA-256 and nothing else inline.
//!
//! Writes `$OUT_DIR/web_assets.rs` (included by `src/routes/web.rs`) and the gzipped files beside it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let web = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", web.display());

    let mut files = Vec::new();
    walk(&web.join("app"), &mut files);
    // The record of the vendored files' checksums (scripts/vendor-web) is not part of the app.
    files.retain(|f| f.file_name().is_some_and(|n| n != "SHA256SUMS"));
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    // Plain path → named path. Files that name others (style sheets, the manifest) are named
    // after those they name, so their content is final when hashed.
    let mut named: BTreeMap<String, String> = BTreeMap::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let (referring, plain): (Vec<&PathBuf>, Vec<&PathBuf>) = files.iter().partition(|f| refers_to_others(f));
    for f in plain.into_iter().chain(referring) {
        let path = format!("/{}", f.strip_prefix(&web).expect("under web/").to_str().expect("web/ file names are UTF-8"));
        let mut bytes = std::fs::read(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
        if refers_to_others(f) {
            bytes = rewrite(&String::from_utf8(bytes).expect("text files are UTF-8"), &named).into_bytes();
        }
        let hash = hex(&Sha256::digest(&bytes)[..4]);
        let hashed = match path.rsplit_once('.') {
            Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{hash}.{ext}"),
            _ => format!("{path}.{hash}"),
        };
        named.insert(path.clone(), hashed.clone());
        contents.insert(hashed, bytes);
    }

    // Every file is in the import map: modules import by plain name, and scripts find the named
    // path of any other file with `import.meta.resolve("/app/…")`.
    let imports: Vec<String> = named.iter().map(|(plain, hashed)| format!("\"{plain}\":\"{hashed}\"")).collect();
    let import_map = format!("{{\"imports\":{{{}}}}}", imports.join(","));
    let template = std::fs::read_to_string(web.join("index.html")).expect("read web/index.html");
    assert!(template.contains("<!-- import map -->"), "web/index.html needs the <!-- import map --> marker");
    // What the first screen runs is asked for at once, not one import after another: the shell
    // and the timeline (the page a signed-in visit opens) with everything they import. Other
    // pages load when opened; preloading all of them kept the first API calls waiting behind
    // them for the browser's six connections.
    let first_screen = static_import_closure(&web, &["/app/main.js", "/app/pages/photos.js"]);
    let preloads: String = first_screen
        .iter()
        .filter_map(|plain| named.get(plain))
        .map(|hashed| format!("\n<link rel=\"modulepreload\" href=\"{hashed}\">"))
        .collect();
    let index =
        rewrite(&template, &named).replace("<!-- import map -->", &format!("<script type=\"importmap\">{import_map}</script>{preloads}"));
    let import_map_hash = base64(&Sha256::digest(import_map.as_bytes()));
    let csp = format!(
        "default-src 'self'; script-src 'self' 'sha256-{import_map_hash}'; style-src 'self'; img-src 'self' blob: data:; \
         media-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );

    let dir = out.join("web");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir OUT_DIR/web");
    let mut table = String::from(
        "/// The app's files: named path, content type, gzipped bytes, plain length.\npub(crate) static ASSETS: &[WebAsset] = &[\n",
    );
    for (i, (hashed, bytes)) in contents.iter().enumerate() {
        let file = dir.join(format!("{i}.gz"));
        std::fs::write(&file, gzip(bytes)).expect("write a gzipped asset");
        let _ = writeln!(
            table,
            "    WebAsset {{ path: {hashed:?}, content_type: {:?}, gzip: include_bytes!({:?}), plain_len: {} }},",
            content_type(hashed),
            file.display().to_string(),
            bytes.len()
        );
    }
    table.push_str("];\n");
    let index_file = dir.join("index.html.gz");
    std::fs::write(&index_file, gzip(index.as_bytes())).expect("write index.html.gz");
    let _ = writeln!(
        table,
        "/// `index.html`, gzipped.\npub(crate) static INDEX_GZIP: &[u8] = include_bytes!({:?});",
        index_file.display().to_string()
    );
    let _ = writeln!(table, "/// `index.html`'s plain length.\npub(crate) const INDEX_LEN: usize = {};", index.len());
    let _ = writeln!(table, "/// The page's Content-Security-Policy.\npub(crate) const CSP: &str = {csp:?};");
    std::fs::write(out.join("web_assets.rs"), table).expect("write web_assets.rs");
}

fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// The modules `roots` import statically (`import … from "/app/…"`, `export … from`, `import
/// "/app/…"`), transitively, roots included; `import("/app/…")` loads later and is left out.
fn static_import_closure(web: &Path, roots: &[&str]) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|r| (*r).to_string()).collect();
    while let Some(module) = todo.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let file = web.join(module.trim_start_matches('/'));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        for marker in ["from \"", "import \""] {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                if let Some(path) = rest.split('"').next().filter(|p| p.starts_with("/app/") && p.ends_with(".js")) {
                    todo.push(path.to_string());
                }
            }
        }
    }
    seen
}

fn refers_to_others(f: &Path) -> bool {
    matches!(f.extension().and_then(|e| e.to_str()), Some("css" | "webmanifest"))
}

/// Every quoted or parenthesised `/app/...` path that names a file, as its named path.
fn rewrite(text: &str, named: &BTreeMap<String, String>) -> String {
    let mut text = text.to_string();
    // Longest first, so `/app/a.js` never rewrites part of `/app/a.js.map`.
    let mut plain: Vec<&String> = named.keys().collect();
    plain.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in plain {
        for (open, close) in [("\"", "\""), ("(", ")"), ("'", "'")] {
            text = text.replace(&format!("{open}{p}{close}"), &format!("{open}{}{close}", named[p]));
        }
    }
    text
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        other => panic!("web/app: no content type for {other:?} ({path})"),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}
