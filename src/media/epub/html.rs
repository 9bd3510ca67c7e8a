//! Plain text from the HTML that publishers put in an EPUB's description. That HTML is a
//! fragment and often not well-formed, so it is not parsed as XML: tags are dropped, entities
//! decoded, whitespace collapsed.

/// The text of an HTML fragment: `<p>A <b>short</b> novel &amp; more</p>` →
/// `A short novel & more`.
pub fn to_text(html: &str) -> String {
    let stripped = strip_tags(html);
    let decoded = decode_entities(&stripped);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drops every `<…>`, leaving a space in its place so `<p>a</p><p>b</p>` keeps two words.
/// Comments are dropped whole. An unclosed `<` drops the rest, as a browser would.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = &rest[open..];
        let end = if tag.starts_with("<!--") {
            tag.find("-->").map(|i| i + 3)
        } else {
            tag.find('>').map(|i| i + 1)
        };
        let Some(end) = end else {
            return out;
        };
        rest = &tag[end..];
    }
    out.push_str(rest);
    out
}

/// Decodes `&name;`, `&#123;` and `&#x1F;`. Unknown names are kept as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Entity names are short; a `;` far away is not this entity's end.
        let decoded = after
            .bytes()
            .take(12)
            .position(|b| b == b';')
            .and_then(|semi| Some((decode_entity(&after[..semi])?, semi)));
        match decoded {
            Some((ch, semi)) => {
                out.push(ch);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '\u{2013}',
        "mdash" => '\u{2014}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "ldquo" => '\u{201c}',
        "rdquo" => '\u{201d}',
        "hellip" => '\u{2026}',
        "copy" => '\u{a9}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_removed_and_entities_decoded() {
        assert_eq!(
            to_text(
                "<p>A <b>short</b> novel &amp; more.</p>\n<p>Second&nbsp;para &#8212; &#x41;</p>"
            ),
            "A short novel & more. Second para \u{2014} A"
        );
    }

    #[test]
    fn odd_input_does_not_lose_plain_text() {
        assert_eq!(to_text("Fish &chips; & more"), "Fish &chips; & more");
        assert_eq!(
            to_text("&amp;\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};"),
            "&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9};"
        );
        assert_eq!(to_text("a <!-- <b> --> b"), "a b");
        assert_eq!(to_text("cut <p"), "cut");
        assert_eq!(to_text("&#0; &#xFFFFFFFF; &"), "&#0; &#xFFFFFFFF; &");
    }
}
