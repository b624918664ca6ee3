//! Faces and people end to end through a running hearthd: real photos of two people (the test
//! photos face_recognition ships, fetched pinned by `scripts/sample-photos`) are uploaded; the
//! thumbnail worker makes their previews, the ML worker (`hearthd worker ml`, with the pinned
//! models `scripts/models` prepares) finds their faces and groups them; the family names the
//! person, finds them by name in search, hides, moves a face, and merges. Pictures of things are
//! tagged with words search finds. With an image/text model the family provides (here one built in
//! code), search finds pictures by a sentence.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hearth_tests::{daemon, http, poll};

fn workspace_file(rel: &str) -> PathBuf {
    daemon::workspace().join(rel)
}

fn prepared(script: &str) {
    let status = Command::new(workspace_file(&format!("scripts/{script}"))).status().expect(script);
    assert!(status.success(), "scripts/{script} failed");
}

fn call(addr: std::net::SocketAddr, cookie: &str, method: &str, path: &str, body: Option<&str>) -> http::Response {
    http::request(addr, method, path, &[format!("Cookie: {cookie}")], body).expect("request")
}

fn upload(addr: std::net::SocketAddr, cookie: &str, file: &Path, name: &str) -> i64 {
    let bytes = std::fs::read(file).expect("photo");
    let r = http::request_bytes(
        addr,
        "POST",
        &format!("/api/v1/assets?name={name}"),
        &[format!("Cookie: {cookie}")],
        Some(("image/jpeg", &bytes)),
    )
    .expect("upload");
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_i64().expect("id")
}

#[test]
fn uploaded_photos_get_faces_grouped_into_a_person_the_family_can_name_and_find() {
    prepared("models");
    prepared("sample-photos");
    let faces_dir = workspace_file("target/sample-photos/faces");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("ada", "lovelace-1815");
    let addr = d.http;

    let mut obama = Vec::new();
    for (i, name) in ["obama.jpg", "obama2.jpg", "obama3.jpg"].iter().enumerate() {
        obama.push(upload(addr, &cookie, &faces_dir.join(name), &format!("IMG_{i}.jpg")));
    }
    let biden = upload(addr, &cookie, &faces_dir.join("biden.jpg"), "IMG_9.jpg");

    // Every photo analysed: three faces of one person make a person; one face of another does not.
    let people = poll::until(Duration::from_secs(240), "faces to be found and grouped", || {
        let jobs = call(addr, &cookie, "GET", "/api/v1/jobs", None).json();
        let faces_done = jobs["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["kind"] == "faces" && k["queued"] == 0 && k["running"] == 0 && k["done"].as_i64() == Some(4));
        if !faces_done {
            return None;
        }
        let list = call(addr, &cookie, "GET", "/api/v1/people", None).json();
        let people = list["people"].as_array().cloned().unwrap_or_default();
        (!people.is_empty()).then_some(people)
    });
    assert_eq!(people.len(), 1, "{people:?}");
    let ml = call(addr, &cookie, "GET", "/api/v1/jobs", None).json()["ml"].clone();
    assert_eq!(
        (ml["backend"].as_str(), &ml["problem"]),
        (Some("cpu"), &serde_json::Value::Null),
        "the ML worker says what it runs on: {ml}"
    );
    let person = people[0]["id"].as_i64().expect("id");
    assert_eq!(people[0]["faces"], 3);
    assert_eq!(people[0]["name"], serde_json::Value::Null);
    let faces = call(addr, &cookie, "GET", &format!("/api/v1/assets/{}/faces", obama[0]), None).json();
    assert_eq!(faces["faces"].as_array().map(Vec::len), Some(1), "{faces}");
    assert_eq!(faces["faces"][0]["person_id"], person);
    let b = faces["faces"][0]["box"].as_array().expect("box").iter().map(|v| v.as_f64().expect("number")).collect::<Vec<_>>();
    assert!(b.iter().all(|v| (0.0..=1.0).contains(v)) && b[2] > 0.1, "{b:?}");
    let biden_faces = call(addr, &cookie, "GET", &format!("/api/v1/assets/{biden}/faces"), None).json();
    assert_eq!(biden_faces["faces"][0]["person_id"], serde_json::Value::Null, "one face makes no person");

    // Named: search finds the name; the person's photos are the three.
    let r = call(addr, &cookie, "PATCH", &format!("/api/v1/people/{person}"), Some(r#"{"name":"Barack"}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let found = call(addr, &cookie, "GET", "/api/v1/search?q=barack", None).json();
    let mut ids: Vec<i64> = found["assets"].as_array().expect("assets").iter().map(|a| a["id"].as_i64().expect("id")).collect();
    ids.sort();
    let mut want = obama.clone();
    want.sort();
    assert_eq!(ids, want);
    let page = call(addr, &cookie, "GET", &format!("/api/v1/people/{person}/assets"), None).json();
    assert_eq!(page["assets"].as_array().map(Vec::len), Some(3));

    // The lone face put into a new person by hand, named, then merged into Barack by mistake
    // and moved back out: every step is the family's, and pinned.
    let biden_face = biden_faces["faces"][0]["id"].as_i64().expect("face id");
    let r = call(addr, &cookie, "PUT", &format!("/api/v1/faces/{biden_face}/person"), Some(r#"{"new_person":true}"#));
    assert_eq!(r.status, 200, "{}", r.body);
    let joe = r.json()["person_id"].as_i64().expect("person");
    assert_eq!(r.json()["pinned"], true);
    call(addr, &cookie, "PATCH", &format!("/api/v1/people/{joe}"), Some(r#"{"name":"Joe"}"#));
    let r = call(addr, &cookie, "POST", &format!("/api/v1/people/{person}/merge"), Some(&format!(r#"{{"people":[{joe}]}}"#)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["faces"], 4);
    assert_eq!(call(addr, &cookie, "GET", &format!("/api/v1/people/{joe}"), None).status, 404);
    let r = call(addr, &cookie, "PUT", &format!("/api/v1/faces/{biden_face}/person"), Some(r#"{"nobody":true}"#));
    assert_eq!(r.json()["person_id"], serde_json::Value::Null);

    // Barack's faces, a page at a time, to pick from.
    let first = call(addr, &cookie, "GET", &format!("/api/v1/people/{person}/faces?limit=2"), None).json();
    let mut listed: Vec<i64> = first["faces"].as_array().expect("faces").iter().map(|f| f["id"].as_i64().expect("id")).collect();
    assert_eq!((listed.len(), first["faces"][0]["person_name"].as_str()), (2, Some("Barack")), "{first}");
    let next = first["next"].as_i64().expect("a next page");
    let rest = call(addr, &cookie, "GET", &format!("/api/v1/people/{person}/faces?limit=2&after={next}"), None).json();
    listed.extend(rest["faces"].as_array().expect("faces").iter().map(|f| f["id"].as_i64().expect("id")));
    assert_eq!((listed.len(), &rest["next"]), (3, &serde_json::Value::Null), "{rest}");
    assert_eq!(call(addr, &cookie, "GET", &format!("/api/v1/people/{person}/faces?limit=0"), None).status, 400);

    // Split: one of Barack's faces out into a person of its own, the name staying with the rest;
    // then merged back. Splitting off all of them, or a face not theirs, is refused.
    let one = call(addr, &cookie, "GET", &format!("/api/v1/assets/{}/faces", obama[2]), None).json()["faces"][0]["id"].clone();
    assert!(listed.contains(&one.as_i64().expect("id")), "{one} among {listed:?}");
    let r = call(addr, &cookie, "POST", &format!("/api/v1/people/{person}/split"), Some(&format!(r#"{{"faces":[{one}]}}"#)));
    assert_eq!(r.status, 201, "{}", r.body);
    let split_off = r.json()["id"].as_i64().expect("new person");
    assert_eq!((r.json()["faces"].as_i64(), r.json()["name"].clone()), (Some(1), serde_json::Value::Null), "{}", r.body);
    let barack = call(addr, &cookie, "GET", &format!("/api/v1/people/{person}"), None).json();
    assert_eq!((barack["faces"].as_i64(), barack["name"].as_str()), (Some(2), Some("Barack")), "{barack}");
    let r = call(addr, &cookie, "POST", &format!("/api/v1/people/{person}/split"), Some(&format!(r#"{{"faces":[{one}]}}"#)));
    assert_eq!(r.status, 409, "not Barack's any more: {}", r.body);
    assert_eq!(call(addr, &cookie, "POST", &format!("/api/v1/people/{person}/split"), Some(r#"{"faces":[]}"#)).status, 400);
    let r = call(addr, &cookie, "POST", &format!("/api/v1/people/{person}/merge"), Some(&format!(r#"{{"people":[{split_off}]}}"#)));
    assert_eq!(r.json()["faces"], 3, "{}", r.body);

    // Hidden: gone from the list and from search, back when asked for.
    call(addr, &cookie, "PATCH", &format!("/api/v1/people/{person}"), Some(r#"{"hidden":true}"#));
    assert_eq!(call(addr, &cookie, "GET", "/api/v1/people", None).json()["people"].as_array().map(Vec::len), Some(0));
    assert_eq!(call(addr, &cookie, "GET", "/api/v1/people?hidden=true", None).json()["people"].as_array().map(Vec::len), Some(1));
    assert_eq!(call(addr, &cookie, "GET", "/api/v1/search?q=barack", None).json()["assets"].as_array().map(Vec::len), Some(0));

    // Bad requests get clear errors; another user sees none of it.
    assert_eq!(call(addr, &cookie, "PATCH", &format!("/api/v1/people/{person}"), Some(r#"{"name":"a\u0007b"}"#)).status, 400);
    assert_eq!(
        call(addr, &cookie, "PUT", &format!("/api/v1/faces/{biden_face}/person"), Some(r#"{"nobody":true,"new_person":true}"#)).status,
        400
    );
    assert_eq!(call(addr, &cookie, "GET", "/api/v1/people/999999", None).status, 404);
    let r = call(
        addr,
        &cookie,
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"bob","display_name":"Bob","password":"bob-password-1","role":"member"}"#),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    let bob = http::request(addr, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"bob","password":"bob-password-1"}"#)).expect("login");
    let bob = bob.cookie().expect("cookie").to_string();
    assert_eq!(call(addr, &bob, "GET", &format!("/api/v1/people/{person}"), None).status, 404);
    assert_eq!(call(addr, &bob, "GET", &format!("/api/v1/people/{person}/faces"), None).status, 404);
    assert_eq!(call(addr, &bob, "GET", &format!("/api/v1/assets/{}/faces", obama[0]), None).status, 404);
    d.stop(Duration::from_secs(30));
}

/// Things and scenes end to end: pictures uploaded as a phone would (JPEG) are tagged by the ML
/// worker after their thumbnails; each shows its words, and search finds them by the word and by
/// the word's other words ("kitten" for a cat).
#[test]
fn uploaded_photos_get_tags_the_family_can_search_by() {
    prepared("models");
    prepared("sample-photos");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ids = Vec::new();
    let mut d = daemon::start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("ada", "lovelace-1815");
    let addr = d.http;
    for name in ["chelsea", "coffee", "motorcycle_left"] {
        let jpeg = dir.path().join(format!("{name}.jpg"));
        let made = Command::new("convert")
            .arg(workspace_file(&format!("target/sample-photos/{name}.png")))
            .args(["-quality", "92"])
            .arg(&jpeg)
            .status()
            .expect("convert");
        assert!(made.success(), "convert {name}");
        ids.push(upload(addr, &cookie, &jpeg, &format!("{name}.jpg")));
    }
    poll::until(Duration::from_secs(240), "the pictures to be tagged", || {
        let jobs = call(addr, &cookie, "GET", "/api/v1/jobs", None).json();
        jobs["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["kind"] == "tags" && k["queued"] == 0 && k["running"] == 0 && k["done"].as_i64() == Some(3))
            .then_some(())
    });
    let words = |id: i64| -> Vec<String> {
        let r = call(addr, &cookie, "GET", &format!("/api/v1/assets/{id}/tags"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        assert!(body["tagged_at"].as_i64().is_some() && body["error"].is_null(), "{body}");
        body["tags"].as_array().expect("tags").iter().map(|t| t["tag"].as_str().expect("word").to_string()).collect()
    };
    let (cat, coffee, motorcycle) = (words(ids[0]), words(ids[1]), words(ids[2]));
    assert!(cat.contains(&"cat".to_string()) && !cat.contains(&"kitten".to_string()), "only the word is shown: {cat:?}");
    assert!(coffee.contains(&"coffee".to_string()), "{coffee:?}");
    assert!(motorcycle.contains(&"motorcycle".to_string()), "{motorcycle:?}");
    let found = |q: &str| -> Vec<i64> {
        let r = call(addr, &cookie, "GET", &format!("/api/v1/search?q={q}"), None).json();
        r["assets"].as_array().expect("assets").iter().filter_map(|a| a["id"].as_i64()).collect()
    };
    assert_eq!(found("cat"), vec![ids[0]]);
    assert_eq!(found("kitten"), vec![ids[0]], "a word's other words find it");
    assert_eq!(found("coffee"), vec![ids[1]]);
    assert_eq!(found("motorbike"), vec![ids[2]]);
    // Another member sees nothing of them.
    let r = call(
        addr,
        &cookie,
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"bob","display_name":"Bob","password":"bob-password-1","role":"member"}"#),
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    let bob = http::request(addr, "POST", "/api/v1/auth/login", &[], Some(r#"{"name":"bob","password":"bob-password-1"}"#)).expect("login");
    let bob = bob.cookie().expect("cookie").to_string();
    assert_eq!(call(addr, &bob, "GET", &format!("/api/v1/assets/{}/tags", ids[0]), None).status, 404);
    d.stop(Duration::from_secs(30));
}

/// Free-text search with a provided image/text model (the colour model `tiny_model` builds, in
/// files the config names): the ML worker queues every photo for its vector, makes them, and the
/// daemon's search ranks the family's photos by a sentence. The pinned models are left out here
/// (an empty models folder), which also shows a provided model's work does not wait for them. The
/// box plays an RK3588 whose NPU runtime is missing: the worker says so and runs on the CPU.
#[test]
fn a_provided_image_text_model_finds_photos_by_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model_dir = dir.path().join("clip");
    std::fs::create_dir_all(&model_dir).expect("model dir");
    let files = hearth_ml::embedding::tiny_model::write(&model_dir).expect("tiny model");
    let config = daemon::provided_model_config(
        dir.path(),
        &files.image_model,
        &files.text_model,
        &files.merges,
        files.image_side,
        files.text_tokens,
    );
    let mut d = daemon::start(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("ada", "lovelace-1815");
    let addr = d.http;
    let mut ids = Vec::new();
    for (name, colour) in [("red", "rgb(220,30,25)"), ("green", "rgb(30,200,40)"), ("blue", "rgb(20,40,210)")] {
        let jpeg = dir.path().join(format!("{name}.jpg"));
        let made = Command::new("convert").args(["-size", "640x480", &format!("xc:{colour}")]).arg(&jpeg).status().expect("convert");
        assert!(made.success(), "convert {name}");
        ids.push(d.upload(&cookie, &format!("IMG_{name}.jpg"), &std::fs::read(&jpeg).expect("photo")));
    }
    poll::until(Duration::from_secs(240), "every photo's vector", || {
        let r = call(addr, &cookie, "GET", "/api/v1/search/meaning?q=red", None);
        (r.status == 200 && r.json()["covered"].as_i64() == Some(3)).then_some(())
    });
    for (n, word) in ["red", "green", "blue"].iter().enumerate() {
        let r = call(addr, &cookie, "GET", &format!("/api/v1/search/meaning?q=a%20{word}%20one"), None);
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        let found: Vec<i64> = body["assets"].as_array().expect("assets").iter().filter_map(|a| a["id"].as_i64()).collect();
        assert_eq!(found.first(), Some(&ids[n]), "{word}: {body}");
        assert_eq!(found.len(), 3, "{body}");
    }
    let jobs = call(addr, &cookie, "GET", "/api/v1/jobs", None).json();
    let vectors = jobs["jobs"].as_array().into_iter().flatten().find(|k| k["kind"] == "embeddings").cloned().expect("embeddings jobs");
    assert_eq!((vectors["done"].as_i64(), vectors["failed"].as_i64()), (Some(3), Some(0)), "{vectors}");
    assert!(jobs["ml"]["embedding_model"].as_str().is_some_and(|p| p.ends_with("image.onnx")), "{jobs}");
    // The board's NPU (an RK3588 profile here) without its runtime: said, not silently skipped.
    assert_eq!(jobs["ml"]["backend"], "cpu", "{jobs}");
    assert!(jobs["ml"]["npu_problem"].as_str().is_some_and(|p| p.contains("/nonexistent/librknnrt.so")), "{jobs}");
    // A damaged text half: search says so (503, what to check), nothing crashes.
    std::fs::write(&files.text_model, b"not a model").expect("damage");
    let r = call(addr, &cookie, "GET", "/api/v1/search/meaning?q=red", None);
    assert_eq!(r.status, 200, "the loaded text half keeps answering: {}", r.body);
    d.stop(Duration::from_secs(30));
    let mut d = daemon::start(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.login("ada", "lovelace-1815");
    let r = call(d.http, &cookie, "GET", "/api/v1/search/meaning?q=red", None);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("[ml.embedding]"), "{}", r.body);
    d.stop(Duration::from_secs(30));
}

/// A models folder without the models (a card built without `scripts/models`, a file gone): the
/// ML worker says so in the API with what to do, the photos wait (their jobs stay queued, not
/// failed), and the worker keeps running instead of crashing in a loop. A damaged model file is
/// refused the same way.
#[test]
fn missing_or_damaged_models_are_reported_and_photos_wait_for_them() {
    prepared("sample-photos");
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).expect("models dir");
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, format!("[ml]\nmodels_dir = {:?}\n", models.to_str().expect("utf-8"))).expect("config");
    let mut d = daemon::start(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8")]);
    d.wait_healthy(Duration::from_secs(30));
    let cookie = d.claim("ada", "lovelace-1815");
    let addr = d.http;
    upload(addr, &cookie, &workspace_file("target/sample-photos/faces/obama.jpg"), "IMG_1.jpg");
    let ml = poll::until(Duration::from_secs(120), "the ML worker to report its missing models", || {
        let ml = call(addr, &cookie, "GET", "/api/v1/jobs", None).json()["ml"].clone();
        ml["problem"].as_str().is_some_and(|p| p.contains("missing")).then_some(ml)
    });
    assert!(ml["guidance"].as_str().is_some_and(|g| g.contains("scripts/models")), "{ml}");
    // A damaged file: the detector's name with other bytes.
    prepared("models");
    let pinned = workspace_file("target/models/face_detection_yunet_2023mar_int8bq.onnx");
    let mut bytes = std::fs::read(&pinned).expect("model");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(models.join("face_detection_yunet_2023mar_int8bq.onnx"), bytes).expect("damaged");
    let ml = poll::until(Duration::from_secs(150), "the ML worker to refuse the damaged model", || {
        let ml = call(addr, &cookie, "GET", "/api/v1/jobs", None).json()["ml"].clone();
        ml["problem"].as_str().is_some_and(|p| p.contains("not the pinned one")).then_some(ml)
    });
    assert!(ml["problem"].as_str().is_some_and(|p| p.contains("face-detector")), "{ml}");
    let jobs = call(addr, &cookie, "GET", "/api/v1/jobs", None).json();
    let faces = jobs["jobs"].as_array().into_iter().flatten().find(|k| k["kind"] == "faces").cloned().expect("faces jobs");
    assert_eq!((faces["queued"].as_i64(), faces["failed"].as_i64(), faces["quarantined"].as_i64()), (Some(1), Some(0), Some(0)), "{faces}");
    let health = http::get(addr, "/api/health").expect("health").json();
    let worker = health["services"].as_array().expect("services").iter().find(|s| s["name"] == "ml").cloned().expect("ml worker");
    assert_eq!(worker["state"], "running", "{worker}");
    assert_eq!(worker["restarts"].as_i64().unwrap_or(0), 0, "the worker did not crash: {worker}");
    d.stop(Duration::from_secs(30));
}
