//! A small element tree read from an EPUB's XML documents (container, package, nav, NCX).
//!
//! The documents are a few kilobytes and capped before they get here, so holding them as a
//! tree is cheap and keeps the EPUB logic to plain lookups. Names are kept as local names
//! (`dc:title` is `title`, `opf:role` is `role`): EPUB files disagree on prefixes, not on
//! local names. Entities: the five predefined ones and character references are decoded;
//! a DTD is never read, so any other entity is dropped rather than resolved.

use std::fmt;

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

/// How deeply elements may nest. Real documents stay under 20; the cap keeps the recursive
/// walks over the tree far from the stack's limit whatever the file holds.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Element(Element),
    Text(String),
}

/// Why a document did not parse, in words for a client ("an end tag does not match …").
#[derive(Debug, Clone, PartialEq)]
pub struct XmlError(String);

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    let mut open: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError(format!("{e} (at byte {})", reader.error_position())))?;
        match event {
            Event::Start(start) => {
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError(format!("its elements nest over {MAX_DEPTH} deep")));
                }
                open.push(Element::from_start(&start));
            }
            Event::Empty(start) => {
                if let Some(root) = close(&mut open, Element::from_start(&start)) {
                    return Ok(root);
                }
            }
            Event::End(_) => {
                // The reader refuses unmatched end tags, so something is open here.
                let Some(done) = open.pop() else {
                    return Err(XmlError("an end tag closes nothing".into()));
                };
                if let Some(root) = close(&mut open, done) {
                    return Ok(root);
                }
            }
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|e| XmlError(e.to_string()))?;
                push_text(&mut open, &text);
            }
            Event::CData(data) => {
                let data = data.xml10_content().map_err(|e| XmlError(e.to_string()))?;
                push_text(&mut open, &data);
            }
            Event::GeneralRef(reference) => {
                if let Some(text) = resolve_reference(&reference) {
                    push_text(&mut open, &text);
                }
            }
            Event::Eof => {
                let reason = if open.is_empty() {
                    "it has no root element"
                } else {
                    "it ends before its elements close (a truncated document?)"
                };
                return Err(XmlError(reason.into()));
            }
            // Declarations, DTDs, comments and processing instructions carry nothing read here.
            Event::Decl(_) | Event::DocType(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
}

/// Attaches a finished element to its parent, or returns it when it is the root: anything
/// after the root is not part of the document.
fn close(open: &mut [Element], done: Element) -> Option<Element> {
    match open.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(done));
            None
        }
        None => Some(done),
    }
}

/// Appends text to the innermost open element, joining it with the text before it, so text
/// split around an entity reference (`Harbour &amp; Sons`) reads as one string.
fn push_text(open: &mut [Element], text: &str) {
    let Some(element) = open.last_mut() else {
        return; // whitespace outside the root
    };
    match element.children.last_mut() {
        Some(Node::Text(previous)) => previous.push_str(text),
        _ => element.children.push(Node::Text(text.to_owned())),
    }
}

/// A character reference or one of the five predefined entities. Others would need the DTD,
/// which is never read.
fn resolve_reference(reference: &BytesRef<'_>) -> Option<String> {
    if reference.is_char_ref() {
        return reference
            .resolve_char_ref()
            .ok()
            .flatten()
            .map(String::from);
    }
    let name = reference.decode().ok()?;
    resolve_predefined_entity(&name).map(str::to_owned)
}

impl Element {
    fn from_start(start: &BytesStart<'_>) -> Element {
        let name = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
        let attributes = start
            .attributes()
            .filter_map(Result::ok)
            .map(|attribute| {
                let key = String::from_utf8_lossy(attribute.key.local_name().into_inner());
                let value = attribute
                    .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_predefined_entity)
                    .map(|value| value.into_owned())
                    // An entity only a DTD defines: keep the raw text rather than lose the value.
                    .unwrap_or_else(|_| String::from_utf8_lossy(&attribute.value).into_owned());
                (key.into_owned(), value)
            })
            .collect();
        Element {
            name,
            attributes,
            children: Vec::new(),
        }
    }

    /// The value of the attribute with this local name (`role` finds `opf:role`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether a space-separated attribute (`properties`, `epub:type`) holds `token`.
    pub fn attr_has_token(&self, name: &str, token: &str) -> bool {
        self.attr(name)
            .is_some_and(|value| value.split_ascii_whitespace().any(|t| t == token))
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    /// The child elements with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |element| element.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|element| element.name == name)
    }

    /// Every element below this one, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut found = Vec::new();
        self.collect_descendants(&mut found);
        found
    }

    fn collect_descendants<'a>(&'a self, found: &mut Vec<&'a Element>) {
        for element in self.elements() {
            found.push(element);
            element.collect_descendants(found);
        }
    }

    /// All the text inside, with its whitespace collapsed to single spaces and trimmed.
    pub fn text(&self) -> String {
        let mut raw = String::new();
        self.collect_text(&mut raw);
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// All the text inside, as written.
    pub fn raw_text(&self) -> String {
        let mut raw = String::new();
        self.collect_text(&mut raw);
        raw
    }

    fn collect_text(&self, out: &mut String) {
        for node in &self.children {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Element(element) => element.collect_text(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_attributes_and_text() {
        let root = parse(
            br#"<?xml version="1.0"?><package xmlns:dc="x"><metadata>
                 <dc:title id="t">The  Keeper</dc:title><meta name="cover" content="c"/>
               </metadata></package>"#,
        )
        .expect("parses");
        assert_eq!(root.name, "package");
        let metadata = root.child("metadata").expect("metadata");
        let title = metadata.child("title").expect("title");
        assert_eq!(title.attr("id"), Some("t"));
        assert_eq!(title.text(), "The Keeper");
        assert_eq!(
            metadata.child("meta").and_then(|m| m.attr("content")),
            Some("c")
        );
    }

    #[test]
    fn joins_text_around_entity_references() {
        let root = parse(b"<p>Harbour &amp; Sons &#233;&#x2014;&lt;ok&gt;</p>").expect("parses");
        assert_eq!(root.text(), "Harbour & Sons \u{e9}\u{2014}<ok>");
    }

    #[test]
    fn never_expands_entities_a_dtd_declares() {
        let document = br#"<?xml version="1.0"?>
            <!DOCTYPE p [<!ENTITY boom "BOOM"> <!ENTITY ext SYSTEM "file:///etc/passwd">]>
            <p a="&amp;">x&boom;&ext;y</p>"#;
        let root = parse(document).expect("parses");
        assert_eq!(root.text(), "xy");
        assert_eq!(root.attr("a"), Some("&"));
    }

    #[test]
    fn a_byte_order_mark_is_not_content() {
        let root = parse(b"\xEF\xBB\xBF<?xml version=\"1.0\"?><a>x</a>").expect("parses");
        assert_eq!(root.text(), "x");
    }

    #[test]
    fn refuses_broken_documents() {
        assert!(parse(b"<a><b></a>").is_err(), "mismatched end");
        assert!(parse(b"<a><b>").is_err(), "truncated");
        assert!(parse(b"").is_err(), "empty");
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).is_err(), "too deep");
    }
}
