//! A small element tree for the XML inside an EPUB (the container, the package document, the
//! navigation document, the NCX): read with quick-xml, which neither loads DTDs nor expands
//! entities other than XML's own, so a billion-laughs document is just text.

use quick_xml::XmlVersion;
use quick_xml::events::Event;

/// An element: its local name (no prefix), its attributes by local name, its children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Deeper than any real document nests; a deeper one is refused rather than walked.
const MAX_DEPTH: usize = 256;

impl Element {
    /// The value of the attribute with this local name (`role` finds `opf:role`).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Every element below this one (not itself), depth first, in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut found = vec![];
        let mut stack: Vec<&Element> = self.elements().collect();
        stack.reverse();
        while let Some(e) = stack.pop() {
            found.push(e);
            let mut children: Vec<&Element> = e.elements().collect();
            children.reverse();
            stack.extend(children);
        }
        found
    }

    /// The text inside, all of it, with runs of white space made one space.
    pub fn text(&self) -> String {
        let mut text = String::new();
        collect_text(self, &mut text);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn collect_text(element: &Element, into: &mut String) {
    let mut stack: Vec<std::slice::Iter<'_, Node>> = vec![element.children.iter()];
    while let Some(children) = stack.last_mut() {
        match children.next() {
            Some(Node::Text(t)) => {
                into.push_str(t);
            }
            Some(Node::Element(e)) => {
                into.push(' ');
                stack.push(e.children.iter());
            }
            None => {
                stack.pop();
            }
        }
    }
}

/// Parses a document into its root element; `Err` says what is wrong, for a message.
pub fn parse(document: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(document);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                if stack.len() > MAX_DEPTH {
                    return Err(format!("it nests deeper than {MAX_DEPTH} elements"));
                }
                stack.push(element(&start)?);
            }
            Event::Empty(empty) => {
                let element = element(&empty)?;
                push(&mut stack, Node::Element(element));
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err("an end tag closes nothing".into());
                }
                let done = stack.pop().expect("checked above");
                push(&mut stack, Node::Element(done));
            }
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|e| e.to_string())?;
                push(&mut stack, Node::Text(text.into_owned()));
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| e.to_string())?;
                push(&mut stack, Node::Text(text.into_owned()));
            }
            Event::GeneralRef(reference) => {
                let text = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = reference.decode().map_err(|e| e.to_string())?;
                        named_entity(&name).to_string()
                    }
                };
                push(&mut stack, Node::Text(text));
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions, doctypes: nothing to keep.
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("the document ends inside an element".into());
    }
    let root = stack.pop().expect("one left");
    root.children
        .into_iter()
        .find_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
        .ok_or_else(|| "it has no root element".into())
}

fn push(stack: &mut [Element], node: Node) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(node);
    }
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = vec![];
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: vec![],
    })
}

/// XML's five entities and the HTML ones an XHTML file most often uses without a DTD; any
/// other is dropped (folio never loads a DTD to learn it).
fn named_entity(name: &str) -> &'static str {
    match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "rsquo" => "’",
        "lsquo" => "‘",
        "rdquo" => "”",
        "ldquo" => "“",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_attributes_and_text_with_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><package xmlns:opf="x"><title opf:role="aut">Tom &amp; Jerry&#x21; <b>bold</b></title><empty a="1&lt;2"/></package>"#,
        )
        .unwrap();
        assert_eq!(root.name, "package");
        let title = root.child("title").unwrap();
        assert_eq!(title.attribute("role"), Some("aut"));
        assert_eq!(title.text(), "Tom & Jerry! bold");
        assert_eq!(root.child("empty").unwrap().attribute("a"), Some("1<2"));
    }

    #[test]
    fn broken_and_hostile_documents_are_errors_or_plain_text() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("").is_err());
        let deep = "<a>".repeat(1000) + &"</a>".repeat(1000);
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        // An entity a DTD declares is never expanded: no billion laughs.
        let laughs =
            r#"<!DOCTYPE l [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><l>&lol2;</l>"#;
        assert_eq!(parse(laughs).unwrap().text(), "");
    }
}
