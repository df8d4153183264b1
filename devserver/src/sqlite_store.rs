//! [`MetadataStore`] embedded: SQLite in WAL mode with full sync, so a write that returned survives `kill -9` and a
//! power cut. Conditional writes are `UPDATE ... WHERE version = ?`, the same contract as DynamoDB's conditions.
//!
//! Writes go through one connection on tokio's blocking pool (a commit waits for the disk). Reads run in place on a
//! small pool of read-only connections: WAL lets them read the last commit while a write is under way, and an indexed
//! read is cheaper than handing it to another thread.
//!
//! The store counts its writes ([`MetadataStore::changes`]), so that pages kept for the public list are never stale.

use async_trait::async_trait;
use framelift_shared::domain::{ListQuery, Page, PageKey, VideoId, VideoRecord, rfc3339};
use framelift_shared::ports::{MetadataStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct SqliteMetadata {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    /// Writes settled so far, committed or not.
    writes: Arc<AtomicU64>,
}

impl SqliteMetadata {
    /// Read-only connections: enough for the runtime's worker threads to read at once.
    const READERS: usize = 4;
    /// How much of the database file the readers map (address space, not memory: pages are shared with the OS cache).
    const MMAP_BYTES: i64 = 1 << 30;

    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS videos (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                status TEXT NOT NULL,
                owner TEXT NOT NULL,
                created_at TEXT NOT NULL,
                record TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS videos_by_status ON videos (status, created_at, id);
            CREATE INDEX IF NOT EXISTS videos_by_owner ON videos (owner, created_at, id);",
        )?;
        let readers = (0..Self::READERS)
            .map(|_| {
                let r = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                r.busy_timeout(std::time::Duration::from_secs(5))?;
                // Reads straight from the mapped file rather than a read() call per page missing from each
                // connection's own 2 MB cache.
                r.pragma_update(None, "mmap_size", Self::MMAP_BYTES)?;
                Ok(Mutex::new(r))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), readers: Arc::new(readers), writes: Arc::default() })
    }

    /// Runs the read `f` here, on a free read-only connection (or the first, waiting for it).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let poisoned = |_| StoreError::Unavailable("the store's lock was poisoned".into());
        let conn = match self.readers.iter().find_map(|r| r.try_lock().ok()) {
            Some(conn) => conn,
            None => self.readers[0].lock().map_err(poisoned)?,
        };
        f(&conn)
    }

    /// Runs the write `f` on the writing connection, off the async threads, and counts it.
    async fn write(&self, f: impl FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static) -> Result<(), StoreError> {
        let (conn, writes) = (self.conn.clone(), self.writes.clone());
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| StoreError::Unavailable("the store's lock was poisoned".into()))?;
            let result = f(&conn);
            // Counted here, not after the await: a request dropped mid-write still wrote.
            writes.fetch_add(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(StoreError::unavailable)?
    }
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::unavailable(e)
}

fn row_of(record: &VideoRecord) -> Result<(String, i64, String, String, String, String), StoreError> {
    let text = serde_json::to_string(record).map_err(StoreError::unavailable)?;
    let created = record.created_at.format(&time::format_description::well_known::Rfc3339).map_err(StoreError::unavailable)?;
    Ok((record.id.to_string(), record.version as i64, record.status.as_str().to_owned(), record.author.id.to_string(), created, text))
}

/// After a conditional write touched no row: was there no record, or another version?
fn explain(conn: &Connection, id: &str) -> StoreError {
    match conn.query_row("SELECT 1 FROM videos WHERE id = ?1", [id], |_| Ok(())).optional() {
        Ok(Some(())) => StoreError::Conflict,
        Ok(None) => StoreError::NotFound,
        Err(e) => db(e),
    }
}

#[async_trait]
impl MetadataStore for SqliteMetadata {
    async fn insert(&self, record: &VideoRecord) -> Result<(), StoreError> {
        let (id, version, status, owner, created, text) = row_of(record)?;
        self.write(move |c| {
            let n = c
                .execute(
                    "INSERT INTO videos (id, version, status, owner, created_at, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
                    params![id, version, status, owner, created, text],
                )
                .map_err(db)?;
            if n == 1 { Ok(()) } else { Err(StoreError::Conflict) }
        })
        .await
    }

    async fn get(&self, id: &VideoId) -> Result<Option<VideoRecord>, StoreError> {
        Ok(self.get_many(std::slice::from_ref(id)).await?.pop().flatten())
    }

    /// On one read-only connection, in one read transaction (one snapshot, and the file locked once, not per id), its
    /// statement prepared once.
    async fn get_many(&self, ids: &[VideoId]) -> Result<Vec<Option<VideoRecord>>, StoreError> {
        let texts: Vec<Option<String>> = self.read(|c| {
            let snapshot = c.unchecked_transaction().map_err(db)?;
            let mut stmt = snapshot.prepare_cached("SELECT record FROM videos WHERE id = ?1").map_err(db)?;
            ids.iter().map(|id| stmt.query_row([id.to_string()], |r| r.get(0)).optional().map_err(db)).collect()
        })?;
        texts.into_iter().map(|text| text.map(|t| serde_json::from_str(&t).map_err(StoreError::unavailable)).transpose()).collect()
    }

    async fn replace(&self, next: &VideoRecord) -> Result<(), StoreError> {
        let expected = next.version.checked_sub(1).ok_or(StoreError::Conflict)? as i64;
        let (id, version, status, owner, created, text) = row_of(next)?;
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE videos SET version = ?2, status = ?3, owner = ?4, created_at = ?5, record = ?6 WHERE id = ?1 AND version = ?7",
                    params![id, version, status, owner, created, text, expected],
                )
                .map_err(db)?;
            if n == 1 { Ok(()) } else { Err(explain(c, &id)) }
        })
        .await
    }

    async fn list(&self, query: &ListQuery, limit: usize, after: Option<&PageKey>) -> Result<Page, StoreError> {
        let (column, value) = match query {
            ListQuery::Status(s) => ("status", s.as_str().to_owned()),
            ListQuery::Owner(o) => ("owner", o.to_string()),
        };
        // Newest first, ties by id; the page starts strictly after the key (a row-value comparison on the index).
        let (after_time, after_id) = match after {
            Some(k) => (Some(rfc3339(k.created_at)), Some(k.id.to_string())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT record FROM videos WHERE {column} = ?1 AND (?2 IS NULL OR (created_at, id) < (?2, ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        );
        let texts: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db)?;
            let rows = stmt.query_map(params![value, after_time, after_id, (limit + 1) as i64], |r| r.get(0)).map_err(db)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(db)
        })?;
        let records = texts.iter().map(|t| serde_json::from_str(t).map_err(StoreError::unavailable)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(records, limit))
    }

    async fn delete(&self, id: &VideoId, version: u64) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(move |c| {
            let n = c.execute("DELETE FROM videos WHERE id = ?1 AND version = ?2", params![id, version as i64]).map_err(db)?;
            if n == 1 { Ok(()) } else { Err(explain(c, &id)) }
        })
        .await
    }

    fn changes(&self) -> Option<u64> {
        Some(self.writes.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use framelift_shared::domain::{Author, ContentType, Transition, UploadPlan, UploadState};

    fn record() -> VideoRecord {
        VideoRecord::new_upload(
            VideoId::generate(),
            "Kept".parse().unwrap(),
            None,
            Author { id: "alice".parse().unwrap(), name: "Alice".into() },
            UploadState {
                upload_id: "up-1".parse().unwrap(),
                content_type: ContentType::parse("video/mp4").unwrap(),
                plan: UploadPlan::new(10_000_000, 8 << 20).unwrap(),
            },
            time::OffsetDateTime::now_utc(),
        )
    }

    #[tokio::test]
    async fn reads_see_every_write_and_a_reopened_store_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("sqlite-cache-{}", VideoId::generate()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sqlite3");
        let store = SqliteMetadata::open(&path).unwrap();
        let r = record();
        store.insert(&r).await.unwrap();
        assert_eq!(store.get(&r.id).await.unwrap(), Some(r.clone()));
        let processing = r.apply(Transition::BeginProcessing).unwrap();
        store.replace(&processing).await.unwrap();
        assert_eq!(store.get(&r.id).await.unwrap(), Some(processing.clone()), "a replace is seen at once");
        assert!(store.replace(&processing).await.is_err());
        assert_eq!(store.get(&r.id).await.unwrap(), Some(processing.clone()), "a failed write changes nothing");

        // Another store on the same file (a restart) reads from the file.
        let reopened = SqliteMetadata::open(&path).unwrap();
        assert_eq!(reopened.get_many(&[r.id, r.id]).await.unwrap(), [Some(processing.clone()), Some(processing.clone())]);
        let before = store.changes();
        assert!(store.replace(&processing).await.is_err());
        assert_ne!(store.changes(), before, "every write moves the count, a failed one too");

        store.delete(&r.id, processing.version).await.unwrap();
        assert_eq!(store.get(&r.id).await.unwrap(), None, "a delete is seen at once");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
