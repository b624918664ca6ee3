//! The filter of an `addressbook-query` REPORT (RFC 6352 10.5): property filters, each a
//! property that must be there (or not: `is-not-defined`) and text its value must match
//! (`text-match`: equals, contains, starts-with or ends-with, case folded unless the collation
//! is `i;octet`, maybe negated), all of them (`test="allof"`) or any (the default). Parameter
//! filters are refused as not supported rather than answered wrongly.

pub use crate::calendar_query::FilterError;
use crate::pim::CARDDAV;
use crate::xml_tree::Element;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchType {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TextMatch {
    text: String,
    how: MatchType,
    fold: bool,
    negate: bool,
}

impl TextMatch {
    fn matches(&self, value: &str) -> bool {
        let (v, t) = if self.fold { (value.to_lowercase(), self.text.to_lowercase()) } else { (value.to_string(), self.text.clone()) };
        let hit = match self.how {
            MatchType::Equals => v == t,
            MatchType::Contains => v.contains(&t),
            MatchType::StartsWith => v.starts_with(&t),
            MatchType::EndsWith => v.ends_with(&t),
        };
        hit != self.negate
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PropFilter {
    /// Upper case.
    name: String,
    /// `is-not-defined`: the card must not have the property.
    absent: bool,
    matches: Vec<TextMatch>,
    all: bool,
}

/// An addressbook-query's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    props: Vec<PropFilter>,
    all: bool,
}

fn all_of(e: &Element) -> Result<bool, FilterError> {
    match e.attribute("test") {
        None | Some("anyof") => Ok(false),
        Some("allof") => Ok(true),
        Some(other) => Err(FilterError::Invalid(format!("test is anyof or allof, not {other:?}"))),
    }
}

impl Filter {
    /// The filter of an `addressbook-query` element (none: every card).
    pub fn read(query: &Element) -> Result<Filter, FilterError> {
        let Some(filter) = query.children_named(CARDDAV, "filter").next() else { return Ok(Filter { props: Vec::new(), all: false }) };
        let mut props = Vec::new();
        for p in filter.elements() {
            if !(p.name.namespace == CARDDAV && p.name.local == "prop-filter") {
                return Err(FilterError::Unsupported(format!("{} in a filter", p.name.local)));
            }
            let name = p.attribute("name").ok_or_else(|| FilterError::Invalid("a prop-filter has a name".into()))?.to_ascii_uppercase();
            let mut matches = Vec::new();
            let mut absent = false;
            for c in p.elements() {
                match (c.name.namespace == CARDDAV, c.name.local.as_str()) {
                    (true, "is-not-defined") => absent = true,
                    (true, "text-match") => {
                        let how = match c.attribute("match-type").unwrap_or("contains") {
                            "equals" => MatchType::Equals,
                            "contains" => MatchType::Contains,
                            "starts-with" => MatchType::StartsWith,
                            "ends-with" => MatchType::EndsWith,
                            other => return Err(FilterError::Invalid(format!("match-type {other:?}"))),
                        };
                        let fold = match c.attribute("collation").unwrap_or("i;unicode-casemap") {
                            "i;unicode-casemap" | "i;ascii-casemap" => true,
                            "i;octet" => false,
                            other => return Err(FilterError::Unsupported(format!("collation {other:?}"))),
                        };
                        let negate = c.attribute("negate-condition") == Some("yes");
                        matches.push(TextMatch { text: c.text(), how, fold, negate });
                    }
                    _ => return Err(FilterError::Unsupported(format!("{} in a prop-filter", c.name.local))),
                }
            }
            props.push(PropFilter { name, absent, matches, all: all_of(p)? });
        }
        Ok(Filter { props, all: all_of(filter)? })
    }

    /// Whether a stored vCard matches.
    pub fn matches(&self, card: &str) -> bool {
        if self.props.is_empty() {
            return true;
        }
        let lines = unfolded(card);
        let test = |p: &PropFilter| {
            let values: Vec<String> = lines.iter().filter_map(|l| value_of(l, &p.name)).collect();
            if p.absent {
                return values.is_empty();
            }
            if values.is_empty() {
                return false;
            }
            if p.matches.is_empty() {
                return true;
            }
            let one = |m: &TextMatch| values.iter().any(|v| m.matches(v));
            if p.all { p.matches.iter().all(one) } else { p.matches.iter().any(one) }
        };
        if self.all { self.props.iter().all(test) } else { self.props.iter().any(test) }
    }
}

/// The content lines of a vCard, folded lines joined (RFC 6350 3.2).
fn unfolded(card: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in card.split('\n').map(|l| l.trim_end_matches('\r')) {
        match (line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// The value of `line` when it is property `name` (upper case; a group before a dot ignored),
/// with vCard's escapes undone.
fn value_of(line: &str, name: &str) -> Option<String> {
    let mut quoted = false;
    let colon = line.char_indices().find(|&(_, c)| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ':' && !quoted
    })?;
    let head = &line[..colon.0];
    let prop = head.split(';').next()?;
    let prop = prop.rsplit('.').next()?;
    if !prop.eq_ignore_ascii_case(name) {
        return None;
    }
    let raw = &line[colon.0 + 1..];
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(inner: &str) -> Filter {
        let xml = format!(
            "<c:addressbook-query xmlns:d=\"DAV:\" xmlns:c=\"{CARDDAV}\"><d:prop><d:getetag/></d:prop>{inner}</c:addressbook-query>"
        );
        Filter::read(&crate::xml_tree::parse(xml.as_bytes()).expect("xml")).expect("filter")
    }

    const ANA: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ana\r\nFN:Ana Lima-Silva\r\nitem1.EMAIL;TYPE=\"work:x\":ana@\r\n example.org\r\nNOTE:line one\\nline two\\, with a comma\r\nEND:VCARD\r\n";

    #[test]
    fn text_matches_by_property_with_folding_and_groups() {
        assert!(filter("").matches(ANA), "no filter: every card");
        assert!(filter(r#"<c:filter><c:prop-filter name="FN"><c:text-match>LIMA</c:text-match></c:prop-filter></c:filter>"#).matches(ANA));
        assert!(
            !filter(
                r#"<c:filter><c:prop-filter name="FN"><c:text-match collation="i;octet">LIMA</c:text-match></c:prop-filter></c:filter>"#
            )
            .matches(ANA)
        );
        assert!(filter(r#"<c:filter><c:prop-filter name="email"><c:text-match match-type="equals">ana@example.org</c:text-match></c:prop-filter></c:filter>"#).matches(ANA), "a folded line in a group, a quoted colon");
        assert!(filter(r#"<c:filter><c:prop-filter name="NOTE"><c:text-match match-type="ends-with">, with a comma</c:text-match></c:prop-filter></c:filter>"#).matches(ANA));
        assert!(filter(r#"<c:filter><c:prop-filter name="TEL"><c:is-not-defined/></c:prop-filter></c:filter>"#).matches(ANA));
        assert!(
            !filter(
                r#"<c:filter><c:prop-filter name="FN"><c:text-match negate-condition="yes">ana</c:text-match></c:prop-filter></c:filter>"#
            )
            .matches(ANA)
        );
        let both = |test: &str| {
            filter(&format!(
                r#"<c:filter test="{test}"><c:prop-filter name="FN"><c:text-match>ana</c:text-match></c:prop-filter><c:prop-filter name="TEL"><c:text-match>9</c:text-match></c:prop-filter></c:filter>"#
            ))
        };
        assert!(both("anyof").matches(ANA));
        assert!(!both("allof").matches(ANA));
    }

    #[test]
    fn parameter_filters_and_odd_filters_are_refused() {
        let read = |inner: &str| {
            let xml = format!("<c:addressbook-query xmlns:c=\"{CARDDAV}\"><c:filter>{inner}</c:filter></c:addressbook-query>");
            Filter::read(&crate::xml_tree::parse(xml.as_bytes()).expect("xml")).map_err(|e| e.condition())
        };
        assert_eq!(read(r#"<c:prop-filter name="TEL"><c:param-filter name="TYPE"/></c:prop-filter>"#), Err("supported-filter"));
        assert_eq!(read(r#"<c:prop-filter><c:text-match>x</c:text-match></c:prop-filter>"#), Err("valid-filter"));
        assert_eq!(
            read(r#"<c:prop-filter name="FN"><c:text-match match-type="regex">x</c:text-match></c:prop-filter>"#),
            Err("valid-filter")
        );
    }
}
