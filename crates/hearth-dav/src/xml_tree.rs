//! A request body as a small tree of elements with their namespaces resolved.
//!
//! WebDAV bodies are small (a PROPFIND names a few properties, a PROPPATCH carries their values),
//! so they are read whole into a tree, within limits that make hostile bodies cheap to refuse:
//! the body's size (the caller's), nesting depth and node count here. A document type declaration
//! is refused outright, so no entity is ever defined, let alone expanded (no "billion laughs");
//! character references and the five predefined entities are the only references accepted.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The deepest nesting accepted.
pub const MOST_DEPTH: usize = 64;
/// The most elements and text pieces accepted in one body.
pub const MOST_NODES: usize = 20_000;

/// An element's namespace and local name; the namespace is empty for "no namespace".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// The namespace URI, or empty.
    pub namespace: String,
    /// The local name.
    pub local: String,
}

impl Name {
    /// A name in `namespace`.
    pub fn new(namespace: &str, local: &str) -> Name {
        Name { namespace: namespace.to_string(), local: local.to_string() }
    }

    /// Whether this is `DAV:local`.
    pub fn is_dav(&self, local: &str) -> bool {
        self.namespace == "DAV:" && self.local == local
    }
}

/// A node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Text, references resolved.
    Text(String),
}

/// An element with its attributes (namespace declarations left out) and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Its name.
    pub name: Name,
    /// Its attributes other than namespace declarations, names resolved, values unescaped.
    pub attributes: Vec<(Name, String)>,
    /// Its children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The child elements named `local` in `namespace`.
    pub fn children_named<'a>(&'a self, namespace: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.name.namespace == namespace && e.name.local == local)
    }

    /// The value of the attribute `local` written without a prefix (so in no namespace).
    pub fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n.local == local && n.namespace.is_empty()).map(|(_, v)| v.as_str())
    }

    /// The first child element named `DAV:local`.
    pub fn dav_child(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.name.is_dav(local))
    }

    /// All the text beneath, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        fn walk(e: &Element, out: &mut String) {
            for n in &e.children {
                match n {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(c) => walk(c, out),
                }
            }
        }
        walk(self, &mut out);
        out
    }

    /// The children written as XML that stands alone: every element declares the namespace it
    /// uses, so the text can be put inside any other element and keeps its meaning.
    pub fn children_xml(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            write_node(n, &mut out);
        }
        out
    }
}

fn write_node(node: &Node, out: &mut String) {
    match node {
        Node::Text(t) => escape_into(t, out),
        Node::Element(e) => {
            out.push('<');
            if e.name.namespace.is_empty() {
                out.push_str(&e.name.local);
                out.push_str(" xmlns=\"\"");
            } else {
                out.push_str("x:");
                out.push_str(&e.name.local);
                out.push_str(" xmlns:x=\"");
                escape_into(&e.name.namespace, out);
                out.push('"');
            }
            for (i, (name, value)) in e.attributes.iter().enumerate() {
                out.push(' ');
                if name.namespace == "http://www.w3.org/XML/1998/namespace" {
                    out.push_str("xml:");
                } else if !name.namespace.is_empty() {
                    // A prefix of its own per attribute, declared beside it.
                    out.push_str(&format!("a{i}:{}=\"", name.local));
                    escape_into(value, out);
                    out.push_str(&format!("\" xmlns:a{i}=\""));
                    escape_into(&name.namespace, out);
                    out.push('"');
                    continue;
                }
                out.push_str(&name.local);
                out.push_str("=\"");
                escape_into(value, out);
                out.push('"');
            }
            if e.children.is_empty() {
                out.push_str("/>");
            } else {
                out.push('>');
                for c in &e.children {
                    write_node(c, out);
                }
                out.push_str("</");
                if !e.name.namespace.is_empty() {
                    out.push_str("x:");
                }
                out.push_str(&e.name.local);
                out.push('>');
            }
        }
    }
}

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// `text` escaped for XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

/// Why a body is not acceptable XML.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed, or namespaces misused.
    #[error("the request body is not well-formed XML: {0}")]
    Malformed(String),
    /// A document type declaration (never needed by WebDAV, the door to entity expansion).
    #[error("the request body has a document type declaration, which WebDAV bodies never need")]
    DocumentType,
    /// Nested deeper than [`MOST_DEPTH`] or more than [`MOST_NODES`] nodes.
    #[error("the request body is nested too deeply or has too many elements")]
    TooBig,
    /// No root element.
    #[error("the request body has no root element")]
    Empty,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn resolved_name(resolve: ResolveResult<'_>, qname: &[u8], local: &[u8]) -> Result<Name, XmlError> {
    let local = std::str::from_utf8(local).map_err(malformed)?.to_string();
    let prefixed = qname.contains(&b':');
    let namespace = match resolve {
        ResolveResult::Bound(ns) => {
            // The reader gives a namespace as written in its attribute; its name is the
            // attribute's value with references resolved (`a&amp;b` is `a&b`).
            let raw = std::str::from_utf8(ns.into_inner()).map_err(malformed)?;
            let ns = quick_xml::escape::unescape(raw).map_err(malformed)?.into_owned();
            // `xmlns:p=""` is not allowed in XML 1.0's namespaces; a prefix bound to nothing is
            // an error (litmus's propfind_invalid2).
            if ns.is_empty() && prefixed {
                return Err(XmlError::Malformed(format!("the prefix of {local:?} is bound to an empty namespace")));
            }
            ns
        }
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(p) => {
            return Err(XmlError::Malformed(format!("undeclared namespace prefix {:?}", String::from_utf8_lossy(&p))));
        }
    };
    Ok(Name { namespace, local })
}

/// Parses `body` into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Malformed("the body is not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        let (resolve, event) = reader.read_resolved_event().map_err(malformed)?;
        match event {
            Event::Start(start) => {
                nodes += 1;
                if stack.len() >= MOST_DEPTH || nodes > MOST_NODES {
                    return Err(XmlError::TooBig);
                }
                if root.is_some() {
                    return Err(XmlError::Malformed("more than one root element".into()));
                }
                let qname = start.name();
                let name = resolved_name(resolve, qname.as_ref(), start.local_name().as_ref())?;
                let mut attributes = Vec::new();
                for a in start.attributes() {
                    let a = a.map_err(malformed)?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (res, local) = reader.resolve_attribute(a.key);
                    let an = resolved_name(res, a.key.as_ref(), local.as_ref())?;
                    let value = a.unescape_value().map_err(malformed)?.into_owned();
                    attributes.push((an, value));
                }
                stack.push(Element { name, attributes, children: Vec::new() });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| XmlError::Malformed("an end tag without a start".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Empty(_) => unreachable_empty()?,
            Event::Text(t) => {
                let s = t.decode().map_err(malformed)?;
                push_text(&mut stack, &s, &mut nodes, root.is_some())?;
            }
            Event::CData(c) => {
                let s = c.decode().map_err(malformed)?.into_owned();
                push_text(&mut stack, &s, &mut nodes, root.is_some())?;
            }
            Event::GeneralRef(r) => {
                let c: String = if r.is_char_ref() {
                    match r.resolve_char_ref().map_err(malformed)? {
                        Some(c) => c.to_string(),
                        None => return Err(XmlError::Malformed("a bad character reference".into())),
                    }
                } else {
                    match r.decode().map_err(malformed)?.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(XmlError::Malformed(format!("the entity &{other}; is not defined"))),
                    }
                };
                push_text(&mut stack, &c, &mut nodes, root.is_some())?;
            }
            Event::DocType(_) => return Err(XmlError::DocumentType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("the body ends inside an element".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// `expand_empty_elements` turns `<a/>` into a start and an end event.
fn unreachable_empty() -> Result<(), XmlError> {
    Err(XmlError::Malformed("an empty element event the reader was told not to give".into()))
}

fn push_text(stack: &mut [Element], text: &str, nodes: &mut usize, after_root: bool) -> Result<(), XmlError> {
    let Some(parent) = stack.last_mut() else {
        if text.trim().is_empty() {
            return Ok(());
        }
        let place = if after_root { "after" } else { "before" };
        return Err(XmlError::Malformed(format!("text {place} the root element")));
    };
    if let Some(Node::Text(last)) = parent.children.last_mut() {
        last.push_str(text);
        return Ok(());
    }
    *nodes += 1;
    if *nodes > MOST_NODES {
        return Err(XmlError::TooBig);
    }
    parent.children.push(Node::Text(text.to_string()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_resolved_and_references_decoded() {
        let root = parse(
            br#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>
            <high xmlns='http://example.com/'>&#65536;&amp;<![CDATA[<x>]]></high><n xmlns="">v</n></D:prop></D:set></D:propertyupdate>"#,
        )
        .expect("parse");
        assert!(root.name.is_dav("propertyupdate"));
        let prop = root.dav_child("set").and_then(|s| s.dav_child("prop")).expect("prop");
        let props: Vec<&Element> = prop.elements().collect();
        assert_eq!(props[0].name, Name::new("http://example.com/", "high"));
        assert_eq!(props[0].text(), "\u{10000}&<x>");
        assert_eq!(props[1].name, Name::new("", "n"));
    }

    #[test]
    fn bad_bodies_are_errors() {
        for bad in [
            &b"<foo>"[..],
            b"<D:propfind xmlns:D=\"DAV:\"><D:prop><bar:foo xmlns:bar=\"\"/></D:prop></D:propfind>",
            b"<a:b/>",
            b"<a></b>",
            b"<a/><b/>",
            b"",
            b"text",
            b"<a>&ent;</a>",
            b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "<a>".repeat(MOST_DEPTH + 1), "</a>".repeat(MOST_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooBig));
        let wide = format!("<a>{}</a>", "<b/>".repeat(MOST_NODES + 1));
        assert_eq!(parse(wide.as_bytes()), Err(XmlError::TooBig));
    }

    #[test]
    fn children_written_alone_keep_their_namespaces() {
        // A namespace with a reference in it once came back escaped twice (the dav_body fuzz target).
        let root = parse(b"<t:v xmlns:t='urn:t'><foo xmlns='http://b&amp;r' a='1&amp;'>x<b/></foo><n xmlns=''/></t:v>").expect("parse");
        assert_eq!(root.elements().next().map(|e| e.name.namespace.as_str()), Some("http://b&r"));
        let xml = root.children_xml();
        let again = parse(format!("<w>{xml}</w>").as_bytes()).expect("reparse");
        assert_eq!(again.children, root.children);
    }
}
