//! CORS as the deployment configures it (the bucket's CORS rule, the HTTP API's CORS settings): browsers may PUT parts
//! straight to storage and read the `ETag` header, and call the API with a bearer token.

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// Which origins may call: any (the local default), or a list.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// Empty means any origin.
    pub allowed_origins: Vec<String>,
}

impl Cors {
    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?;
        let text = origin.to_str().ok()?;
        (self.allowed_origins.is_empty() || self.allowed_origins.iter().any(|o| o == text)).then(|| origin.clone())
    }

    /// The answer to a preflight `OPTIONS`, allowing `methods`.
    pub fn preflight<B: Default>(&self, headers: &HeaderMap, methods: &'static str) -> Response<B> {
        let mut res = Response::new(B::default());
        *res.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allow(headers.get(header::ORIGIN)) {
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
            let asked = headers
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or(HeaderValue::from_static("authorization, content-type"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("ETag"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3000"));
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        res
    }

    /// Adds the headers an actual (non-preflight) response needs for the browser to read it.
    pub fn decorate<B>(&self, request_origin: Option<&HeaderValue>, res: &mut Response<B>) {
        if let Some(origin) = self.allow(request_origin) {
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("ETag"));
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }

    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflights_expose_etag_to_allowed_origins_only() {
        let cors = Cors { allowed_origins: vec!["http://localhost:8080".into()] };
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://localhost:8080"));
        headers.insert(header::ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("PUT"));
        let res: Response<()> = cors.preflight(&headers, "GET, PUT, HEAD");
        assert_eq!(res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://localhost:8080");
        assert_eq!(res.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS], "ETag");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        let res: Response<()> = cors.preflight(&headers, "GET, PUT, HEAD");
        assert!(!res.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }
}
