//! Sharing through a running hearthd, with curl as every client: a partner sees a whole
//! timeline until it is taken back; an album shared with a viewer shows its photos and nothing
//! else, an editor adds theirs; share links open an album behind a password (and take guests'
//! uploads) or a selection without downloads, expire, and stop when deleted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hearth_tests::{daemon, http, poll};

fn run(program: &str, args: &[&str], dir: &Path) {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `curl` with extra headers; (status, body).
fn curl(headers: &[String], args: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.args(args).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (status.trim().parse().expect("status"), body.to_string())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

struct Client {
    base: String,
    headers: Vec<String>,
}

impl Client {
    fn get(&self, path: &str) -> (u16, String) {
        curl(&self.headers, &[&format!("{}{path}", self.base)])
    }
    fn send(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut h = self.headers.clone();
        h.push("Content-Type: application/json".into());
        curl(&h, &["-X", method, "--data", body, &format!("{}{path}", self.base)])
    }
    fn upload(&self, path: &str, file: &Path) -> (u16, String) {
        curl(&self.headers, &["-X", "POST", "--data-binary", &format!("@{}", file.display()), &format!("{}{path}", self.base)])
    }
}

#[test]
fn partners_albums_and_share_links_show_what_they_should_and_nothing_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let base = format!("http://{}", d.http);
    let session = d.claim("ana", "ana-password-1");
    let ana = Client { base: base.clone(), headers: vec![format!("Cookie: {session}")] };
    let login = |name: &str| {
        let (status, _) = ana.send("POST", "/api/v1/users", &format!(r#"{{"name":"{name}","password":"{name}-password-1"}}"#));
        assert_eq!(status, 201);
        let r = http::request(
            d.http,
            "POST",
            "/api/v1/auth/login",
            &[],
            Some(&format!(r#"{{"name":"{name}","password":"{name}-password-1"}}"#)),
        )
        .expect("login");
        assert_eq!(r.status, 200, "{}", r.body);
        Client { base: base.clone(), headers: vec![format!("Cookie: {}", r.cookie().expect("cookie"))] }
    };
    let (ben, cy) = (login("ben"), login("cy"));
    let photo = |name: &str, colour: &str| {
        let file = dir.path().join(name);
        run("convert", &["-size", "800x600", &format!("xc:{colour}"), file.to_str().expect("utf8")], dir.path());
        file
    };
    let up = |who: &Client, file: &Path| {
        let (status, body) =
            who.upload(&format!("/api/v1/assets?name={}", file.file_name().and_then(|n| n.to_str()).unwrap_or("x.jpg")), file);
        assert_eq!(status, 201, "{body}");
        json(&body)["id"].as_i64().expect("id")
    };
    let (a1, a2) = (up(&ana, &photo("a1.jpg", "red")), up(&ana, &photo("a2.jpg", "blue")));

    // Partners: Ben sees nothing of Ana's until she lets him see her timeline.
    assert_eq!(ben.get(&format!("/api/v1/assets/{a1}")).0, 404);
    assert_eq!(ben.get("/api/v1/timeline/months?user=ana").0, 404);
    assert_eq!(ana.send("PUT", "/api/v1/partners/ben", "").0, 204);
    let (status, body) = ben.get("/api/v1/timeline/months?user=ana");
    assert_eq!((status, json(&body)["months"][0]["count"].as_i64()), (200, Some(2)), "{body}");
    assert_eq!(ben.get(&format!("/api/v1/assets/{a1}")).0, 200);
    assert_eq!(json(&ben.get("/api/v1/partners").1)["shared_by"], serde_json::json!(["ana"]));
    assert_eq!(ben.send("PATCH", &format!("/api/v1/assets/{a1}"), r#"{"favourite":true}"#).0, 404, "seeing is not changing");
    assert_eq!(ana.send("DELETE", "/api/v1/partners/ben", "").0, 204);
    assert_eq!(ben.get(&format!("/api/v1/assets/{a1}")).0, 404);

    // An album with a1, shared with Cy as a viewer: a1 and nothing else.
    let (status, body) = ana.send("POST", "/api/v1/albums", &format!(r#"{{"title":"Summer","assets":[{a1}]}}"#));
    assert_eq!(status, 201, "{body}");
    let album = json(&body)["id"].as_i64().expect("album");
    assert_eq!(ana.send("PUT", &format!("/api/v1/albums/{album}/members/cy"), r#"{"role":"viewer"}"#).0, 204);
    let listed = json(&cy.get("/api/v1/albums").1);
    assert_eq!((listed["albums"][0]["title"].as_str(), listed["albums"][0]["role"].as_str()), (Some("Summer"), Some("viewer")));
    let page = json(&cy.get(&format!("/api/v1/albums/{album}/assets")).1);
    assert_eq!(page["assets"].as_array().map(|a| a.len()), Some(1));
    poll::until(Duration::from_secs(60), "a1's thumbnail", || (cy.get(&format!("/api/v1/assets/{a1}/thumbnail")).0 == 200).then_some(()));
    assert_eq!(cy.get(&format!("/api/v1/assets/{a2}/thumbnail")).0, 404);
    let c1 = up(&cy, &photo("c1.jpg", "green"));
    assert_eq!(cy.send("PUT", &format!("/api/v1/albums/{album}/assets"), &format!(r#"{{"ids":[{c1}]}}"#)).0, 403, "a viewer");
    assert_eq!(ana.send("PUT", &format!("/api/v1/albums/{album}/members/cy"), r#"{"role":"editor"}"#).0, 204);
    let (status, body) = cy.send("PUT", &format!("/api/v1/albums/{album}/assets"), &format!(r#"{{"ids":[{c1}]}}"#));
    assert_eq!((status, json(&body)["changed"].as_i64()), (200, Some(1)), "{body}");
    assert_eq!(cy.send("PUT", &format!("/api/v1/albums/{album}/assets"), &format!(r#"{{"ids":[{a2}]}}"#)).0, 404, "not Cy's to add");
    assert_eq!(ana.get(&format!("/api/v1/assets/{c1}")).0, 200, "Cy's photo, seen through the album");
    assert_eq!(cy.send("PATCH", &format!("/api/v1/albums/{album}"), r#"{"title":"Mine now"}"#).0, 403);
    assert_eq!(ben.get(&format!("/api/v1/albums/{album}")).0, 404);

    // A link to the album, with a password, taking guests' photos.
    let (status, body) =
        ana.send("POST", "/api/v1/shares", &format!(r#"{{"album_id":{album},"password":"grandma-1940","allow_upload":true}}"#));
    assert_eq!(status, 201, "{body}");
    let token = json(&body)["token"].as_str().expect("token").to_string();
    let guest = Client { base: format!("{base}/api/v1/shared/{token}"), headers: vec![] };
    assert_eq!(guest.get("").0, 401);
    assert_eq!(guest.send("POST", "/unlock", r#"{"password":"wrong-guess"}"#).0, 401);
    let (status, body) = guest.send("POST", "/unlock", r#"{"password":"grandma-1940"}"#);
    assert_eq!(status, 200, "{body}");
    let guest = Client { headers: vec![format!("X-Share-Key: {}", json(&body)["key"].as_str().expect("key"))], ..guest };
    let (status, body) = guest.get("");
    assert_eq!((status, json(&body)["album_title"].as_str(), json(&body)["shared_by"].as_str()), (200, Some("Summer"), Some("ana")));
    assert_eq!(json(&guest.get("/assets").1)["assets"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(guest.get(&format!("/assets/{a1}/thumbnail")).0, 200);
    assert_eq!(guest.get(&format!("/assets/{a1}/original")).0, 200);
    assert_eq!(guest.get(&format!("/assets/{a2}/thumbnail")).0, 404, "not in the album");
    let (status, body) = guest.upload("/assets?name=g1.jpg", &photo("g1.jpg", "yellow"));
    assert_eq!(status, 201, "a guest's photo: {body}");
    assert_eq!(json(&ana.get(&format!("/api/v1/albums/{album}/assets")).1)["assets"].as_array().map(|a| a.len()), Some(3));

    // A link to a selection, no downloads, expiring in two seconds.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (status, body) = ana.send(
        "POST",
        "/api/v1/shares",
        &format!(r#"{{"assets":[{a2}],"allow_download":false,"expires_at":{},"description":"blue"}}"#, now + 2),
    );
    assert_eq!(status, 201, "{body}");
    let sel = Client { base: format!("{base}/api/v1/shared/{}", json(&body)["token"].as_str().expect("token")), headers: vec![] };
    let link_id = json(&body)["id"].as_i64().expect("id");
    assert_eq!(sel.get(&format!("/assets/{a2}/original")).0, 403);
    assert_eq!(sel.get(&format!("/assets/{a1}/thumbnail")).0, 404);
    assert_eq!(sel.upload("/assets?name=x.jpg", &dir.path().join("a1.jpg")).0, 403);
    let links = json(&ana.get("/api/v1/shares").1);
    assert_eq!(links["links"].as_array().map(|l| l.len()), Some(2));
    assert!(!links.to_string().contains(&token), "tokens are shown once, never listed");
    poll::until(Duration::from_secs(30), "the link to expire", || (sel.get("").0 == 404).then_some(()));
    assert_eq!(ana.send("DELETE", &format!("/api/v1/shares/{link_id}"), "").0, 204);
    assert_eq!(ben.send("DELETE", &format!("/api/v1/shares/{link_id}"), "").0, 404);
    // Deleting the album ends its link; the photos stay where they are.
    assert_eq!(ana.send("DELETE", &format!("/api/v1/albums/{album}"), "").0, 204);
    assert_eq!(guest.get("").0, 404);
    assert_eq!(cy.get(&format!("/api/v1/assets/{c1}")).0, 200);
}
