//! The XML bodies clients send (RFC 4918 §14): PROPFIND, PROPPATCH and LOCK, read into types.

use crate::xml_tree::{self, Element, Name, XmlError};

/// The most bytes of XML body read for one request.
pub const MOST_BODY_BYTES: usize = 1 << 20;

/// What a PROPFIND asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Propfind {
    /// Every property (and `include`d ones that `allprop` leaves out).
    AllProp {
        /// Properties asked for by name besides.
        include: Vec<Name>,
    },
    /// Only the names of the properties.
    PropName,
    /// These properties.
    Prop(Vec<Name>),
}

/// One change of a PROPPATCH, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyChange {
    /// Set the property to this value (XML content that stands alone).
    Set(Name, String),
    /// Remove the property.
    Remove(Name),
}

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    /// Nobody else may lock it.
    Exclusive,
    /// Others may take shared locks too.
    Shared,
}

/// What a LOCK with a body asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The scope.
    pub scope: LockScope,
    /// The `owner` element's content, as XML that stands alone.
    pub owner: Option<String>,
}

/// Why a body is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Not XML, or too big.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// XML, but not the element or shape this method takes.
    #[error("{0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> BodyError {
    BodyError::Shape(message.into())
}

/// The body of a PROPFIND; an empty body means `allprop` (RFC 4918 §9.1).
pub fn propfind(body: &[u8]) -> Result<Propfind, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Propfind::AllProp { include: Vec::new() });
    }
    let root = xml_tree::parse(body)?;
    if !root.name.is_dav("propfind") {
        return Err(shape("a PROPFIND body is a DAV:propfind element"));
    }
    // Unknown elements are ignored (RFC 4918 §17: extensibility), as litmus's propextended checks.
    if let Some(prop) = root.dav_child("prop") {
        return Ok(Propfind::Prop(prop.elements().map(|e| e.name.clone()).collect()));
    }
    if root.dav_child("propname").is_some() {
        return Ok(Propfind::PropName);
    }
    if root.dav_child("allprop").is_some() {
        let include = root.dav_child("include").map(|i| i.elements().map(|e| e.name.clone()).collect()).unwrap_or_default();
        return Ok(Propfind::AllProp { include });
    }
    Err(shape("a DAV:propfind names DAV:prop, DAV:propname or DAV:allprop"))
}

/// The body of a PROPPATCH: its changes in document order.
pub fn proppatch(body: &[u8]) -> Result<Vec<PropertyChange>, BodyError> {
    let root = xml_tree::parse(body)?;
    if !root.name.is_dav("propertyupdate") {
        return Err(shape("a PROPPATCH body is a DAV:propertyupdate element"));
    }
    let changes: Vec<PropertyChange> = property_updates(&root)
        .map(|(set, p)| if set { PropertyChange::Set(p.name.clone(), value_of(p)) } else { PropertyChange::Remove(p.name.clone()) })
        .collect();
    if changes.is_empty() {
        return Err(shape("a DAV:propertyupdate sets or removes at least one property"));
    }
    Ok(changes)
}

/// The property elements an update element sets (`true`) or removes, in document order:
/// `set`/`remove` children holding a `prop`, as a PROPPATCH's `propertyupdate`, an extended
/// MKCOL's `mkcol` (RFC 5689) and a MKCALENDAR's `mkcalendar` (RFC 4791) all carry them.
pub fn property_updates(update: &Element) -> impl Iterator<Item = (bool, &Element)> {
    update
        .elements()
        .filter_map(|op| {
            if op.name.is_dav("set") {
                Some((true, op))
            } else if op.name.is_dav("remove") {
                Some((false, op))
            } else {
                None
            }
        })
        .flat_map(|(set, op)| op.elements().filter(|e| e.name.is_dav("prop")).flat_map(Element::elements).map(move |p| (set, p)))
}

fn value_of(e: &Element) -> String {
    e.children_xml()
}

/// The body of a LOCK that creates a lock; `None` for an empty body (a refresh).
pub fn lockinfo(body: &[u8]) -> Result<Option<LockInfo>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = xml_tree::parse(body)?;
    if !root.name.is_dav("lockinfo") {
        return Err(shape("a LOCK body is a DAV:lockinfo element"));
    }
    let scope_el = root.dav_child("lockscope").ok_or_else(|| shape("a DAV:lockinfo has a DAV:lockscope"))?;
    let scope = if scope_el.dav_child("exclusive").is_some() {
        LockScope::Exclusive
    } else if scope_el.dav_child("shared").is_some() {
        LockScope::Shared
    } else {
        return Err(shape("the lock scope is DAV:exclusive or DAV:shared"));
    };
    let type_el = root.dav_child("locktype").ok_or_else(|| shape("a DAV:lockinfo has a DAV:locktype"))?;
    if type_el.dav_child("write").is_none() {
        return Err(shape("the only lock type is DAV:write"));
    }
    let owner = root.dav_child("owner").map(value_of);
    Ok(Some(LockInfo { scope, owner }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propfind_forms() {
        assert_eq!(propfind(b"").expect("empty"), Propfind::AllProp { include: vec![] });
        assert_eq!(
            propfind(br#"<propfind xmlns="DAV:"><foobar/><allprop/></propfind>"#).expect("extended"),
            Propfind::AllProp { include: vec![] }
        );
        assert_eq!(propfind(br#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#).expect("names"), Propfind::PropName);
        assert_eq!(
            propfind(br#"<propfind xmlns="DAV:"><prop><getetag/><x:a xmlns:x="urn:x"/></prop></propfind>"#).expect("prop"),
            Propfind::Prop(vec![Name::new("DAV:", "getetag"), Name::new("urn:x", "a")])
        );
        assert!(propfind(b"<foo>").is_err());
        assert!(propfind(br#"<propfind xmlns="urn:not-dav"><prop/></propfind>"#).is_err());
    }

    #[test]
    fn proppatch_keeps_document_order() {
        let changes = proppatch(
            br#"<propertyupdate xmlns='DAV:'><remove><prop><r xmlns='urn:n'/></prop></remove>
            <set><prop><r xmlns='urn:n'>x</r></prop></set><set><prop><r xmlns='urn:n'>y</r></prop></set></propertyupdate>"#,
        )
        .expect("ok");
        let r = Name::new("urn:n", "r");
        assert_eq!(
            changes,
            vec![PropertyChange::Remove(r.clone()), PropertyChange::Set(r.clone(), "x".into()), PropertyChange::Set(r, "y".into())]
        );
        assert!(proppatch(br#"<propertyupdate xmlns='DAV:'/>"#).is_err());
    }

    #[test]
    fn lockinfo_forms() {
        let info = lockinfo(
            br#"<D:lockinfo xmlns:D='DAV:'><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>litmus test suite</D:owner></D:lockinfo>"#,
        )
        .expect("ok")
        .expect("some");
        assert_eq!(info, LockInfo { scope: LockScope::Exclusive, owner: Some("litmus test suite".into()) });
        assert_eq!(lockinfo(b"  ").expect("refresh"), None);
        assert!(lockinfo(br#"<D:lockinfo xmlns:D='DAV:'><D:locktype><D:write/></D:locktype></D:lockinfo>"#).is_err());
    }
}
