//! Nextcloud's OCS envelope (docs/files.md): `{"ocs": {"meta": …, "data": …}}` in JSON when the
//! client asks by `?format=json` or `Accept: application/json`, else in XML. Version 1 answers
//! HTTP 200 with status code 100 for success; version 2 carries the HTTP status in both.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The OCS API version, from the path (`/ocs/v1.php/…`, `/ocs/v2.php/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcsVersion {
    /// `ocs/v1.php`.
    V1,
    /// `ocs/v2.php`.
    V2,
}

impl OcsVersion {
    /// The version a request path names.
    pub fn of_path(path: &str) -> OcsVersion {
        if path.starts_with("/ocs/v1.php") { OcsVersion::V1 } else { OcsVersion::V2 }
    }
}

/// How the answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcsFormat {
    /// JSON.
    Json,
    /// XML (OCS's default).
    Xml,
}

impl OcsFormat {
    /// The format a request asks for.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> OcsFormat {
        let by_query = query.into_iter().flat_map(|q| q.split('&')).find_map(|pair| pair.strip_prefix("format="));
        match by_query {
            Some(f) if f.eq_ignore_ascii_case("json") => return OcsFormat::Json,
            Some(f) if f.eq_ignore_ascii_case("xml") => return OcsFormat::Xml,
            _ => {}
        }
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if accept.contains("application/json") { OcsFormat::Json } else { OcsFormat::Xml }
    }
}

/// An OCS answer: `status` is the HTTP meaning (200, 404, …), `message` always present.
pub fn respond(version: OcsVersion, format: OcsFormat, status: StatusCode, message: &str, data: Value) -> Response {
    let ok = status.is_success();
    let (http_status, code) = match version {
        OcsVersion::V1 => {
            (if status == StatusCode::UNAUTHORIZED { status } else { StatusCode::OK }, if ok { 100 } else { v1_code(status) })
        }
        OcsVersion::V2 => (status, status.as_u16()),
    };
    let meta = json!({
        "status": if ok { "ok" } else { "failure" },
        "statuscode": code,
        "message": message,
        "totalitems": "",
        "itemsperpage": "",
    });
    let envelope = json!({ "ocs": { "meta": meta, "data": data } });
    let (body, media) = match format {
        OcsFormat::Json => (envelope.to_string(), "application/json; charset=utf-8"),
        OcsFormat::Xml => {
            let mut out = String::from("<?xml version=\"1.0\"?>\n");
            xml_element("ocs", &envelope["ocs"], &mut out);
            out.push('\n');
            (out, "application/xml; charset=utf-8")
        }
    };
    let mut r = (http_status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    r
}

/// OCS v1's codes for failures.
fn v1_code(status: StatusCode) -> u16 {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => 997,
        StatusCode::NOT_FOUND => 998,
        StatusCode::BAD_REQUEST => 400,
        _ => 996,
    }
}

/// A JSON value as the XML OCS writes: objects as elements by key, arrays as `element`s.
fn xml_element(name: &str, value: &Value, out: &mut String) {
    // Keys are ours; a key that is not an XML name would break the document, so it is skipped.
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return;
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "1" } else { "" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&hearth_dav::xml_tree::escape(s)),
        Value::Array(items) => {
            for item in items {
                xml_element("element", item, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                xml_element(k, v, out);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> (StatusCode, String) {
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn versions_and_formats() {
        let (status, text) = body(respond(OcsVersion::V1, OcsFormat::Json, StatusCode::OK, "OK", json!({"id": "anna"}))).await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["ocs"]["meta"]["statuscode"], 100);
        assert_eq!(v["ocs"]["data"]["id"], "anna");
        let (status, text) = body(respond(OcsVersion::V2, OcsFormat::Json, StatusCode::NOT_FOUND, "no such user", json!([]))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!((v["ocs"]["meta"]["statuscode"].as_u64(), v["ocs"]["meta"]["message"].as_str()), (Some(404), Some("no such user")));
        let (status, text) =
            body(respond(OcsVersion::V1, OcsFormat::Xml, StatusCode::NOT_FOUND, "a<b", json!({"l": [1, true], "bad key": 1}))).await;
        assert_eq!(status, StatusCode::OK, "v1 answers 200 and says it in the status code");
        assert!(text.contains("<statuscode>998</statuscode>") && text.contains("<message>a&lt;b</message>"), "{text}");
        assert!(text.contains("<data><l><element>1</element><element>1</element></l></data>"), "{text}");
    }

    #[test]
    fn the_format_is_asked_by_query_or_accept() {
        let mut h = HeaderMap::new();
        assert_eq!(OcsFormat::of_request(None, &h), OcsFormat::Xml);
        assert_eq!(OcsFormat::of_request(Some("a=b&format=json"), &h), OcsFormat::Json);
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/plain"));
        assert_eq!(OcsFormat::of_request(None, &h), OcsFormat::Json);
        assert_eq!(OcsFormat::of_request(Some("format=xml"), &h), OcsFormat::Xml);
        assert_eq!(OcsVersion::of_path("/ocs/v1.php/cloud/user"), OcsVersion::V1);
        assert_eq!(OcsVersion::of_path("/ocs/v2.php/cloud/user"), OcsVersion::V2);
    }
}
