//! Listing the catalogue: which videos (a query) and where a page starts (a key). Newest first, ties broken by id, so
//! that paging visits every video exactly once even when many share a second.

use super::{UserId, VideoId, VideoRecord, VideoStatus};
use time::OffsetDateTime;

/// The access patterns: videos in one status (the public catalogue is `Status(Ready)`), or one owner's videos in
/// every status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListQuery {
    Status(VideoStatus),
    Owner(UserId),
}

impl ListQuery {
    pub fn matches(&self, r: &VideoRecord) -> bool {
        match self {
            ListQuery::Status(s) => r.status == *s,
            ListQuery::Owner(o) => &r.author.id == o,
        }
    }
}

/// Where a page starts: just after this video in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    pub created_at: OffsetDateTime,
    pub id: VideoId,
}

impl PageKey {
    pub fn of(r: &VideoRecord) -> Self {
        Self { created_at: r.created_at, id: r.id }
    }

    /// The sort value stores index on: `createdAt#id`, whose text order is newest-last (read descending).
    pub fn sort_value(&self) -> String {
        format!("{}#{}", rfc3339(self.created_at), self.id)
    }

    /// Whether `r` comes after this key in newest-first order.
    pub fn is_before(&self, r: &VideoRecord) -> bool {
        (r.created_at, r.id) < (self.created_at, self.id)
    }
}

/// One page and, if more follow, where the next starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub records: Vec<VideoRecord>,
    pub next: Option<PageKey>,
}

impl Page {
    /// A page from up to `limit + 1` records in order: the extra one only says that more follow.
    pub fn from_overfetch(mut records: Vec<VideoRecord>, limit: usize) -> Self {
        let more = records.len() > limit;
        records.truncate(limit);
        let next = if more { records.last().map(PageKey::of) } else { None };
        Self { records, next }
    }
}

/// Whole-second RFC 3339, the form every record's `createdAt` has.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
