//! A browser as the web app's server-side tests see one: it keeps cookies, sends
//! `Accept: text/html` and its own `Origin` on posts, and does not follow redirects, so a test
//! sees each 303 and where it points.

use reqwest::Response;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, ORIGIN};
use reqwest::redirect::Policy;

use crate::support::TestServer;
use crate::support::api::PASSWORD;

pub struct Browser<'s> {
    pub server: &'s TestServer,
    pub client: reqwest::Client,
    /// `Accept-Language`, when the test sets one.
    pub language: Option<&'static str>,
}

impl<'s> Browser<'s> {
    pub fn new(server: &'s TestServer) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Self {
            server,
            client,
            language: None,
        }
    }

    pub fn speaking(server: &'s TestServer, language: &'static str) -> Self {
        Self {
            language: Some(language),
            ..Self::new(server)
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, self.server.url(path))
            .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
        if let Some(language) = self.language {
            request = request.header(ACCEPT_LANGUAGE, language);
        }
        request
    }

    /// `GET path`, its response.
    pub async fn open(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    /// `GET path`: a page that must be a 200 HTML page; its HTML.
    pub async fn page(&self, path: &str) -> String {
        let response = self.open(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert_eq!(kind, "text/html; charset=utf-8", "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form found on the page at `from` to `action`, with the page's CSRF token.
    pub async fn submit(&self, from: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let page = self.page(from).await;
        let token = csrf_token(&page);
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(action, &form).await
    }

    /// Posts fields as they are, with this site's `Origin`, as a browser's form post.
    pub async fn post_raw(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        let origin = self.server.url("");
        self.request(reqwest::Method::POST, action)
            .header(ORIGIN, origin.trim_end_matches('/'))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Registers `name` through the form (signed in after).
    pub async fn register(&self, name: &str) {
        let email = format!("{name}@example.com");
        let fields = [
            ("username", name),
            ("email", email.as_str()),
            ("password", PASSWORD),
        ];
        let response = self.submit("/register", "/register", &fields).await;
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    }

    /// Signs in as `name` through the form.
    pub async fn sign_in(&self, name: &str) -> Response {
        let fields = [("username", name), ("password", PASSWORD)];
        self.submit("/signin", "/signin", &fields).await
    }
}

/// The CSRF token of the first form on a page.
pub fn csrf_token(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("the page has a form with a CSRF token");
    page[at + 19..].split('"').next().unwrap().to_string()
}

/// The value of `Set-Cookie` for cookie `name`, if the response sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The text of a page without its tags, with entities as characters, whitespace collapsed:
/// what a reader reads.
pub fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#38;", "&");
    out.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}
