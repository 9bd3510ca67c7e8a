//! The web app's languages: English and Russian (the original apps' language). Every text a
//! page shows is a message of `locales/<lang>.ftl` (Project Fluent, which knows Russian's
//! three plural forms); dates and prices are written the way each language writes them.

use std::sync::LazyLock;

use axum::http::HeaderMap;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::service::catalog::currency;

/// A language the web app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Ru,
}

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "folio_lang";

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ru];

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    /// Its name in itself, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ru => "Русский",
        }
    }

    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "ru" => Some(Locale::Ru),
            _ => None,
        }
    }

    /// The language a request asks for: the switch's cookie, else the browser's
    /// `Accept-Language` by its weights, else English.
    pub fn of(headers: &HeaderMap, cookie: Option<&str>) -> Self {
        if let Some(chosen) = cookie.and_then(Locale::parse) {
            return chosen;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut best: Option<(f32, Locale)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("");
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if let Some(locale) = Locale::parse(tag)
                && weight > 0.0
                && best.is_none_or(|(w, _)| weight > w)
            {
                best = Some((weight, locale));
            }
        }
        best.map_or(Locale::En, |(_, locale)| locale)
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        match self {
            Locale::En => &EN,
            Locale::Ru => &RU,
        }
    }

    /// The message `id`; its id itself if the catalogue lacks it (a test checks none does).
    pub fn t(self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with one argument, `{ $name }` in the catalogue.
    pub fn t1(self, id: &str, name: &str, value: impl Into<Arg>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.into().0);
        self.format(id, Some(&args))
    }

    /// The message `id` with two arguments.
    pub fn t2(
        self,
        id: &str,
        (name, value): (&str, impl Into<Arg>),
        (name2, value2): (&str, impl Into<Arg>),
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.into().0);
        args.set(name2, value2.into().0);
        self.format(id, Some(&args))
    }

    fn format(self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(
                id,
                locale = self.tag(),
                "a message is missing from the catalogue"
            );
            return id.to_string();
        };
        let mut errors = vec![];
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    /// A day as this language writes it: "December 3, 2026", "3 декабря 2026 г.".
    pub fn date(self, date: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        self.t2(
            &format!("date-{}", date.month()),
            ("day", date.day() as i64),
            ("year", date.year() as i64),
        )
    }

    /// A price from minor units and its ISO 4217 code: "€12.99", "12,99 €", "¥1299".
    pub fn price(self, minor: i64, code: &str) -> String {
        let decimal = currency::decimal(minor, code);
        let (whole, fraction) = decimal.split_once('.').unwrap_or((&decimal, ""));
        let (sign, whole) = match whole.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", whole),
        };
        let (group, point) = match self {
            Locale::En => (",", "."),
            // Russian groups thousands with a (narrow) no-break space and uses a decimal comma.
            Locale::Ru => ("\u{202f}", ","),
        };
        let mut number = String::from(sign);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                number.push_str(group);
            }
            number.push(digit);
        }
        if !fraction.is_empty() {
            number.push_str(point);
            number.push_str(fraction);
        }
        let symbol = symbol(code);
        match (self, symbol) {
            (Locale::En, Some(symbol)) => format!("{symbol}{number}"),
            (Locale::En, None) => format!("{code}\u{a0}{number}"),
            (Locale::Ru, symbol) => format!("{number}\u{a0}{}", symbol.unwrap_or(code)),
        }
    }
}

/// A value for a message's argument: a number (which picks the plural form) or a text.
pub struct Arg(FluentValue<'static>);

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Self(FluentValue::from(n))
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Self(FluentValue::from(n as i64))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self(FluentValue::from(s))
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self(FluentValue::from(s.to_string()))
    }
}

/// The currencies whose sign is better known than their code.
fn symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "RUB" => "₽",
        "INR" => "₹",
        "UAH" => "₴",
        "KZT" => "₸",
        _ => return None,
    })
}

static EN: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle("en", include_str!("../../locales/en.ftl")));
static RU: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle("ru", include_str!("../../locales/ru.ftl")));

fn bundle(tag: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("locales/{tag}.ftl does not parse: {errors:?}"));
    let language = tag.parse().expect("a valid language tag");
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // No Unicode isolation marks around arguments: the pages are one direction, and the marks
    // would show in copied text and break tests that look for a name.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{tag}.ftl has duplicates: {errors:?}"));
    bundle
}

/// The ids of a catalogue's messages, for the test that both catalogues have the same ones.
pub fn message_ids(locale: Locale) -> Vec<String> {
    let source = match locale {
        Locale::En => include_str!("../../locales/en.ftl"),
        Locale::Ru => include_str!("../../locales/ru.ftl"),
    };
    source
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_messages() {
        let mut en = message_ids(Locale::En);
        let mut ru = message_ids(Locale::Ru);
        en.sort();
        ru.sort();
        assert!(!en.is_empty());
        assert_eq!(
            en, ru,
            "locales/en.ftl and locales/ru.ftl differ in their ids"
        );
        for id in &en {
            assert_ne!(Locale::Ru.t(id), *id, "{id} does not format in Russian");
        }
    }

    #[test]
    fn every_message_the_templates_use_exists() {
        let ids = message_ids(Locale::En);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for quoted in text
                .split(".t(\"")
                .skip(1)
                .chain(text.split(".t1(\"").skip(1))
            {
                let id = quoted.split('"').next().unwrap();
                assert!(ids.iter().any(|known| known == id), "no message {id}");
                checked += 1;
            }
        }
        assert!(checked > 20, "the templates use messages");
    }

    #[test]
    fn russian_counts_take_their_three_forms() {
        let books = |n: i64| Locale::Ru.t1("count-books", "count", n);
        assert_eq!(books(1), "1 книга");
        assert_eq!(books(3), "3 книги");
        assert_eq!(books(5), "5 книг");
        assert_eq!(books(21), "21 книга");
        assert_eq!(Locale::En.t1("count-books", "count", 1_i64), "1 book");
        assert_eq!(Locale::En.t1("count-books", "count", 2_i64), "2 books");
    }

    #[test]
    fn prices_and_dates_are_written_per_language() {
        assert_eq!(Locale::En.price(129_900, "EUR"), "€1,299.00");
        assert_eq!(Locale::Ru.price(129_900, "EUR"), "1\u{202f}299,00\u{a0}€");
        assert_eq!(Locale::En.price(1299, "JPY"), "¥1,299");
        assert_eq!(Locale::En.price(1299, "KWD"), "KWD\u{a0}1.299");
        assert_eq!(Locale::Ru.price(45_000, "RUB"), "450,00\u{a0}₽");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(Locale::En.date(day), "December 3, 2026");
        assert_eq!(Locale::Ru.date(day), "3 декабря 2026 г.");
    }

    #[test]
    fn the_language_follows_the_cookie_then_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(Locale::of(&headers, None), Locale::En);
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            "de-DE,ru;q=0.8,en;q=0.5".parse().unwrap(),
        );
        assert_eq!(Locale::of(&headers, None), Locale::Ru);
        assert_eq!(Locale::of(&headers, Some("en")), Locale::En);
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            "ru;q=0, en-GB".parse().unwrap(),
        );
        assert_eq!(Locale::of(&headers, None), Locale::En);
    }
}
