//! The web app's own stylesheet and scripts, built into the binary and served under names
//! that carry a hash of their content, so a browser may keep them for a year and still gets
//! a new file the moment one changes.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// The name pages link to: `app.3f2a9c1b.css`.
    hashed: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// `(name, type, content)` of every asset, as written in `assets/`.
const SOURCES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/icon.svg"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/admin.js"),
    ),
    (
        "player.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/player.js"),
    ),
    (
        "reader.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/reader.js"),
    ),
];

static ASSETS: LazyLock<Vec<(&'static str, Asset)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let digest = hex::encode(&Sha256::digest(bytes)[..5]);
            let (stem, extension) = name.rsplit_once('.').expect("assets have an extension");
            let hashed = format!("{stem}.{digest}.{extension}");
            (
                name,
                Asset {
                    hashed,
                    content_type,
                    bytes,
                },
            )
        })
        .collect()
});

/// The path a page links to for asset `name` (`app.css`).
pub fn url(name: &str) -> String {
    let asset = ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, asset)| asset)
        .unwrap_or_else(|| panic!("no asset {name} in assets/"));
    format!("/static/{}", asset.hashed)
}

/// `GET /static/{file}`: an asset by its hashed name, cacheable for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some((_, asset)) = ASSETS.iter().find(|(_, a)| a.hashed == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
