//! Properties: the live ones the server computes (RFC 4918 §15) and the dead ones clients set,
//! and the 207 Multi-Status bodies that carry them.

use std::time::{Instant, SystemTime};

use crate::locks::Lock;
use crate::methods::Access;
use crate::path::DavPath;
use crate::request_body::LockScope;
use crate::tree::{Entry, Kind};
use crate::xml_tree::{Name, escape, escape_into};

/// The live properties, in the order `allprop` lists them. The quota ones are only given when
/// asked for by name (RFC 4331 §3).
pub const LIVE: &[&str] = &[
    "resourcetype",
    "getcontentlength",
    "getcontenttype",
    "getetag",
    "getlastmodified",
    "creationdate",
    "supportedlock",
    "lockdiscovery",
    "quota-available-bytes",
    "quota-used-bytes",
];

const IN_ALLPROP: usize = 8;

/// ownCloud's namespace, which the Nextcloud clients still use for most properties.
pub const OC: &str = "http://owncloud.org/ns";
/// Nextcloud's namespace.
pub const NC: &str = "http://nextcloud.org/ns";

/// The Nextcloud properties the server computes (read by the Nextcloud apps and nextcloudcmd;
/// docs/files.md). Only given when asked for by name, as a Nextcloud does.
pub const NEXTCLOUD: &[(&str, &str)] = &[
    (OC, "fileid"),
    (OC, "id"),
    (OC, "permissions"),
    (OC, "size"),
    (OC, "owner-id"),
    (OC, "owner-display-name"),
    (NC, "has-preview"),
    (NC, "creation_time"),
    (NC, "upload_time"),
];

/// Whether `name` is a property the server computes (and a PROPPATCH may not change).
pub fn is_live(name: &Name) -> bool {
    (name.namespace == "DAV:" && LIVE.contains(&name.local.as_str()))
        || NEXTCLOUD.iter().any(|(ns, local)| name.namespace == *ns && name.local == *local)
}

/// Whether answering `name` needs the resources' file ids.
pub fn needs_file_id(name: &Name) -> bool {
    name.namespace == OC && (name.local == "fileid" || name.local == "id")
}

/// Whether answering `name` needs the size of everything beneath a folder.
pub fn needs_size_beneath(name: &Name) -> bool {
    (name.namespace == OC && name.local == "size") || (name.namespace == "DAV:" && name.local == "quota-used-bytes")
}

/// What the live properties of one resource are computed from.
pub struct Facts<'a> {
    /// The file system's view.
    pub entry: &'a Entry,
    /// The locks covering it.
    pub locks: &'a [Lock],
    /// The space's href prefix (for the lock roots).
    pub href_prefix: &'a str,
    /// Free bytes for the space, when known.
    pub available: Option<u64>,
    /// Now, for the locks' time left.
    pub now: Instant,
    /// Its file id, when asked for and known.
    pub file_id: Option<hearth_catalog::dav_files::FileId>,
    /// The box's instance id, the suffix of `oc:id`.
    pub instance: &'a str,
    /// Whose files these are.
    pub owner: &'a str,
    /// For a folder, the bytes of every file beneath it, when asked for.
    pub size_beneath: Option<u64>,
    /// Whether it is the space's root (which cannot be deleted, renamed or moved).
    pub is_root: bool,
    /// Whose it is to the one asking.
    pub access: crate::methods::Access,
}

/// The value of a live property, as XML content; `None` when it does not apply here.
pub fn live_value(local: &str, f: &Facts<'_>) -> Option<String> {
    let e = f.entry;
    Some(match local {
        "resourcetype" => {
            if e.kind == Kind::Folder {
                "<d:collection/>".into()
            } else {
                String::new()
            }
        }
        "getcontentlength" if e.kind == Kind::File => e.size.to_string(),
        "getcontenttype" if e.kind == Kind::File => String::new(), // filled by the caller, which knows the name
        // Our own hex digits, dashes and quotes: nothing to escape in text.
        "getetag" => e.etag(),
        "getlastmodified" => httpdate::fmt_http_date(e.modified),
        "creationdate" => rfc3339(e.modified),
        "supportedlock" => concat!(
            "<d:lockentry><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>",
            "<d:lockentry><d:lockscope><d:shared/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>"
        )
        .into(),
        "lockdiscovery" => f.locks.iter().map(|l| active_lock(l, f.href_prefix, f.now)).collect(),
        "quota-available-bytes" => f.available?.to_string(),
        "quota-used-bytes" => f.size_beneath?.to_string(),
        _ => return None,
    })
}

/// The value of a computed Nextcloud property ([`NEXTCLOUD`]); `None` when unknown here.
pub fn nextcloud_value(name: &Name, f: &Facts<'_>) -> Option<String> {
    let e = f.entry;
    let seconds =
        |t: Option<SystemTime>| t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_secs()).unwrap_or(0).to_string();
    Some(match (name.namespace.as_str(), name.local.as_str()) {
        (OC, "fileid") => f.file_id?.to_string(),
        // Nextcloud's form: the id in at least eight digits, then the instance id.
        (OC, "id") => format!("{:08}{}", f.file_id?.0, f.instance),
        // G read, D delete, N rename, V move, W write (files), C and K make files and folders
        // (folders; without CK the apps hide their upload button), S shared with the one
        // asking (a family folder and what is in it). No R: nothing is shared further.
        (OC, "permissions") => {
            let own = match (e.kind, f.is_root) {
                (Kind::Folder, true) => "GCK",
                (Kind::Folder, false) => "GDNVCK",
                (Kind::File, _) => "GDNVW",
            };
            match f.access {
                Access::Own => own.into(),
                Access::FamilyWrite => format!("S{own}"),
                Access::FamilyRead => "SG".into(),
            }
        }
        (OC, "size") => match e.kind {
            Kind::File => e.size.to_string(),
            Kind::Folder => f.size_beneath?.to_string(),
        },
        (OC, "owner-id") | (OC, "owner-display-name") => escape(f.owner),
        // Decided by the caller, which knows the name (pictures and videos have one).
        (NC, "has-preview") => "false".into(),
        // The file system's birth time: when the upload began (the phone's own creation time
        // is not kept).
        (NC, "creation_time") | (NC, "upload_time") => seconds(e.created),
        _ => return None,
    })
}

/// The live properties `allprop` lists.
pub fn allprop_live() -> &'static [&'static str] {
    &LIVE[..IN_ALLPROP]
}

/// A `DAV:activelock` element.
pub fn active_lock(l: &Lock, href_prefix: &str, now: Instant) -> String {
    let scope = match l.scope {
        LockScope::Exclusive => "<d:exclusive/>",
        LockScope::Shared => "<d:shared/>",
    };
    let depth = if l.infinite { "infinity" } else { "0" };
    let owner = l.owner.as_ref().map(|o| format!("<d:owner>{o}</d:owner>")).unwrap_or_default();
    format!(
        "<d:activelock><d:locktype><d:write/></d:locktype><d:lockscope>{scope}</d:lockscope><d:depth>{depth}</d:depth>{owner}\
         <d:timeout>Second-{}</d:timeout><d:locktoken><d:href>{}</d:href></d:locktoken><d:lockroot><d:href>{}</d:href></d:lockroot></d:activelock>",
        l.seconds_left(now),
        escape(&l.token),
        escape(&l.root.href(href_prefix, false)),
    )
}

/// `2026-12-06T10:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = hearth_core::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// One property element with its content, in a `prop`.
pub fn element(name: &Name, content: &str, out: &mut String) {
    let (open, close) = tag(name);
    if content.is_empty() {
        out.push_str(&open.replacen('>', "/>", 1));
    } else {
        out.push_str(&open);
        out.push_str(content);
        out.push_str(&close);
    }
}

/// Opening and closing tags for a property name, declaring its namespace.
fn tag(name: &Name) -> (String, String) {
    if name.namespace == "DAV:" {
        (format!("<d:{}>", name.local), format!("</d:{}>", name.local))
    } else if name.namespace.is_empty() {
        (format!("<{} xmlns=\"\">", name.local), format!("</{}>", name.local))
    } else {
        let mut open = format!("<p:{} xmlns:p=\"", name.local);
        escape_into(&name.namespace, &mut open);
        open.push_str("\">");
        (open, format!("</p:{}>", name.local))
    }
}

/// The status line text of a code, for `d:status`.
pub fn status_line(code: http::StatusCode) -> String {
    format!("HTTP/1.1 {} {}", code.as_u16(), code.canonical_reason().unwrap_or(""))
}

/// A response's propstat groups: the properties found (200) and those not (404), each only
/// when there is one.
pub fn found_and_missing(found: String, missing: String) -> Vec<(http::StatusCode, String)> {
    let mut groups = Vec::new();
    if !found.is_empty() {
        groups.push((http::StatusCode::OK, found));
    }
    if !missing.is_empty() {
        groups.push((http::StatusCode::NOT_FOUND, missing));
    }
    groups
}

/// A 207 body being written.
pub struct MultiStatus(String);

impl Default for MultiStatus {
    fn default() -> Self {
        MultiStatus(String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus xmlns:d=\"DAV:\">"))
    }
}

impl MultiStatus {
    /// A response for `href` with its properties grouped by status.
    pub fn response(&mut self, href: &str, groups: &[(http::StatusCode, String)]) {
        self.0.push_str("<d:response><d:href>");
        escape_into(href, &mut self.0);
        self.0.push_str("</d:href>");
        for (status, props) in groups {
            self.0.push_str("<d:propstat><d:prop>");
            self.0.push_str(props);
            self.0.push_str("</d:prop><d:status>");
            self.0.push_str(&status_line(*status));
            self.0.push_str("</d:status></d:propstat>");
        }
        self.0.push_str("</d:response>");
    }

    /// A response for `href` with a status only (a member that could not be changed).
    pub fn status(&mut self, href: &str, status: http::StatusCode) {
        self.0.push_str("<d:response><d:href>");
        escape_into(href, &mut self.0);
        self.0.push_str("</d:href><d:status>");
        self.0.push_str(&status_line(status));
        self.0.push_str("</d:status></d:response>");
    }

    /// The finished body of a `sync-collection` report, with the collection's new token.
    pub fn finish_with_sync_token(mut self, token: &str) -> String {
        self.0.push_str("<d:sync-token>");
        escape_into(token, &mut self.0);
        self.0.push_str("</d:sync-token>");
        self.finish()
    }

    /// The finished body.
    pub fn finish(mut self) -> String {
        self.0.push_str("</d:multistatus>\n");
        self.0
    }
}

/// The `href` of a resource.
pub fn href(prefix: &str, path: &DavPath, entry: &Entry) -> String {
    path.href(prefix, entry.is_folder())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_elements() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000)), "2026-11-30T00:53:20Z");
        let mut out = String::new();
        element(&Name::new("", "n"), "v", &mut out);
        element(&Name::new("urn:a&b", "x"), "", &mut out);
        element(&Name::new("DAV:", "getetag"), "\"e\"", &mut out);
        assert_eq!(out, "<n xmlns=\"\">v</n><p:x xmlns:p=\"urn:a&amp;b\"/><d:getetag>\"e\"</d:getetag>");
    }
}
