//! Where a source is read from: a file we named, or an address ffmpeg reads with range requests (a presigned GET), so
//! that a worker reads only the stretch it encodes and no step needs the whole file on its disk.

use crate::paths::AbsolutePath;
use std::ffi::OsString;
use std::fmt;

/// A source to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(AbsolutePath),
    Url(SourceUrl),
}

/// An `http` or `https` address of a source, without credentials in it. Shown without its query, which on a presigned
/// URL is the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl(url::Url);

impl SourceUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("not an address: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("a source is read over http or https, not {}", url.scheme()));
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err("a source address names a host and carries no user or password".into());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.0.scheme(), self.0.host_str().unwrap_or(""), self.0.path())
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceUrl({self})")
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::File(path) => path.fmt(f),
            Input::Url(url) => url.fmt(f),
        }
    }
}

impl Input {
    /// The protocols ffmpeg may use for it: a file's, or http(s) and what carries it. Nested opens inherit the list.
    pub fn protocols(&self) -> &'static str {
        match self {
            Input::File(_) => "file",
            Input::Url(_) => "http,https,tls,tcp",
        }
    }

    /// What ffmpeg is given after `-i`.
    pub fn arg(&self) -> OsString {
        match self {
            Input::File(path) => path.as_os_str().to_owned(),
            Input::Url(url) => url.as_str().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_addresses_without_credentials_are_sources() {
        assert!(SourceUrl::parse("https://bucket.s3.amazonaws.com/uploads/x?X-Amz-Signature=abc").is_ok());
        for bad in ["file:///etc/passwd", "concat:a|b", "ftp://host/x", "https://user:pw@host/x", "not a url"] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_is_shown_without_its_signature() {
        let url = SourceUrl::parse("https://bucket.s3.amazonaws.com/uploads/x?X-Amz-Signature=secret").unwrap();
        assert_eq!(url.to_string(), "https://bucket.s3.amazonaws.com/uploads/x");
        assert!(!format!("{:?}", Input::Url(url)).contains("secret"));
    }
}
