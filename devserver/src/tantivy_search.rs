//! The search index of the local stack: tantivy, embedded, in the state folder. It matches as the OpenSearch query
//! does (see `framelift_shared::domain::SearchText`'s module): every word exactly, within `AUTO` edits, and the last
//! one as a prefix, in title, author and description weighed 3, 2 and 1; one analyzer folds case and accents for the
//! documents and the query alike. The query is tantivy's own: term, fuzzy and prefix queries with boosts, in one
//! boolean query. A query's hits are kept until the index next changes, as OpenSearch's request cache keeps results
//! until the next refresh.

use async_trait::async_trait;
use framelift_shared::domain::{SEARCH_FIELDS, SearchDocument, SearchHits, SearchText, VideoId, auto_fuzziness};
use framelift_shared::ports::{SearchIndex, StoreError};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const TOKENIZER: &str = "folded";
/// The writer's memory budget (tantivy's minimum is 15 MB per thread).
const WRITER_BYTES: usize = 20_000_000;
/// A typo or a prefix scores half an exact match of the same word.
const INEXACT: f32 = 0.5;
/// How many queries' hits are kept.
const KEPT_QUERIES: u64 = 1_000;

/// A query as the cache knows it: the index generation it ran on, its text and its limit.
type QueryKey = (u64, String, usize);

pub struct TantivySearch {
    index: Index,
    reader: IndexReader,
    /// Serializes writes. The writer itself (and tantivy's lock on the folder) lives only for one write: writes are
    /// rare (a video becomes ready or is deleted), and a writer held open would keep the folder locked for as long as
    /// anything holds this value, which a server restarted in the same process must not wait for.
    writing: Arc<Mutex<()>>,
    id: Field,
    /// The searched fields with their weights, in the order of [`SEARCH_FIELDS`].
    fields: Vec<(Field, f32)>,
    /// Each query's hits, kept until the index changes (the key holds the generation they were found in), and found
    /// once for a crowd asking at the same time.
    hits: moka::future::Cache<QueryKey, SearchHits>,
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field("id", STRING | STORED);
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    for (name, _) in SEARCH_FIELDS {
        b.add_text_field(name, text.clone());
    }
    b.build()
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("search index: {e}").into())
}

/// The failure of a search that a crowd waited for, as each of them gets it.
fn unshared(e: Arc<StoreError>) -> StoreError {
    Arc::try_unwrap(e).unwrap_or_else(|e| match &*e {
        StoreError::Unavailable(source) => StoreError::Unavailable(source.to_string().into()),
        other => StoreError::Unavailable(other.to_string().into()),
    })
}

impl TantivySearch {
    /// Opens the index in `dir`, creating it (and the folder) the first time.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Self::with_index(Index::open_or_create(MmapDirectory::open(dir)?, schema())?)
    }

    /// An index held in memory, for tests.
    pub fn in_memory() -> anyhow::Result<Self> {
        Self::with_index(Index::create_in_ram(schema()))
    }

    fn with_index(index: Index) -> anyhow::Result<Self> {
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let schema = index.schema();
        let id = schema.get_field("id")?;
        let fields = SEARCH_FIELDS.iter().map(|(name, boost)| Ok((schema.get_field(name)?, *boost))).collect::<tantivy::Result<_>>()?;
        let hits = moka::future::Cache::new(KEPT_QUERIES);
        Ok(Self { index, reader, writing: Arc::new(Mutex::new(())), id, fields, hits })
    }

    fn document(&self, doc: &SearchDocument) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(self.id, doc.id.to_string());
        for ((field, _), text) in self.fields.iter().zip([&doc.title, &doc.author, &doc.description]) {
            d.add_text(*field, text);
        }
        d
    }

    /// Applies `change` through a writer of its own and commits, off the async threads (a commit syncs to disk).
    async fn write(&self, change: impl FnOnce(&mut IndexWriter) -> tantivy::Result<()> + Send + 'static) -> Result<(), StoreError> {
        let (writing, index) = (self.writing.clone(), self.index.clone());
        tokio::task::spawn_blocking(move || {
            let _one_at_a_time = writing.lock().expect("not poisoned");
            let mut w: IndexWriter = index.writer_with_num_threads(1, WRITER_BYTES)?;
            change(&mut w)?;
            w.commit()?;
            w.wait_merging_threads()
        })
        .await
        .map_err(failed)?
        .map_err(failed)?;
        self.reader.reload().map_err(failed)
    }

    /// Adds or replaces many documents in one commit (seeding a benchmark, rebuilding an index).
    pub async fn put_all(&self, docs: &[SearchDocument]) -> Result<(), StoreError> {
        let prepared: Vec<(Term, TantivyDocument)> = docs.iter().map(|d| (self.id_term(&d.id), self.document(d))).collect();
        self.write(move |w| {
            for (term, doc) in prepared {
                w.delete_term(term);
                w.add_document(doc)?;
            }
            Ok(())
        })
        .await
    }

    fn id_term(&self, id: &VideoId) -> Term {
        Term::from_field_text(self.id, &id.to_string())
    }

    /// The words of `text` as the index analyzed the documents.
    fn words(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.index.tokenizers().get(TOKENIZER).expect("registered at open");
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words
    }

    /// The query for `text`: in each field, each word exactly (at the field's weight), within its `AUTO` edits and, the
    /// last word, as a prefix (each at half that); any one clause is a match, and the scores add up.
    fn query(&self, text: &SearchText) -> BooleanQuery {
        let words = self.words(text.as_str());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let edits = auto_fuzziness(word.chars().count());
            for &(field, boost) in &self.fields {
                let term = Term::from_field_text(field, word);
                let mut should = |q: Box<dyn Query>, boost: f32| clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
                should(Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)), boost);
                if edits > 0 {
                    should(Box::new(FuzzyTermQuery::new(term.clone(), edits, true)), boost * INEXACT);
                }
                if i + 1 == words.len() {
                    should(Box::new(FuzzyTermQuery::new_prefix(term, 0, true)), boost * INEXACT);
                }
            }
        }
        BooleanQuery::new(clauses)
    }

    /// The best `limit` matches of `text` in what `searcher` sees.
    fn find(&self, searcher: &tantivy::Searcher, text: &SearchText, limit: usize) -> Result<SearchHits, StoreError> {
        let query = self.query(text);
        let (top, total) = searcher.search(&query, &(TopDocs::with_limit(limit.max(1)).order_by_score(), Count)).map_err(failed)?;
        let mut ids = Vec::with_capacity(top.len().min(limit));
        for (_, address) in top.into_iter().take(limit) {
            let doc: TantivyDocument = searcher.doc(address).map_err(failed)?;
            if let Some(id) = doc.get_first(self.id).and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                ids.push(id);
            }
        }
        Ok(SearchHits { ids, total: total as u64 })
    }
}

#[async_trait]
impl SearchIndex for TantivySearch {
    async fn put(&self, doc: &SearchDocument) -> Result<(), StoreError> {
        self.put_all(std::slice::from_ref(doc)).await
    }

    async fn remove(&self, id: &VideoId) -> Result<(), StoreError> {
        let term = self.id_term(id);
        self.write(move |w| {
            w.delete_term(term);
            Ok(())
        })
        .await
    }

    async fn search(&self, text: &SearchText, limit: usize) -> Result<SearchHits, StoreError> {
        let searcher = self.reader.searcher();
        let key = (searcher.generation().generation_id(), text.as_str().to_owned(), limit);
        self.hits.try_get_with(key, async { self.find(&searcher, text, limit) }).await.map_err(unshared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: usize) -> SearchDocument {
        let words = ["harbour", "sunset", "bread", "streaming", "rust", "garden", "coffee", "lesson", "video", "number"];
        let title = format!("{} {} {i}", words[i % 10], words[(i / 10) % 10]);
        let description = format!("{} with {}", words[(i * 7) % 10], words[(i * 3 + 1) % 10]);
        SearchDocument {
            id: VideoId::generate(),
            title,
            author: format!("user {}", i % 13),
            description,
            created_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i as i64),
        }
    }

    /// Results come back as the ids of the videos they are, read from the id field's terms, in segments of many
    /// documents; and the same query asked again after a deletion, or after a video is put again (its new document in a
    /// new segment), finds what the index holds now, not what it held when the query was first asked.
    #[tokio::test]
    async fn results_are_the_ids_of_the_videos_found() {
        let index = TantivySearch::in_memory().unwrap();
        let mut docs: Vec<SearchDocument> = (0..600).map(doc).collect();
        for chunk in [&docs[..400], &docs[400..]] {
            index.put_all(chunk).await.unwrap();
        }
        let index = &index;
        let first = |q: &str| {
            let text = SearchText::parse(q).unwrap();
            async move { index.search(&text, 20).await.unwrap().ids.first().copied() }
        };
        for i in [0, 1, 8, 255, 256, 399, 400, 401, 599] {
            assert_eq!(first(&i.to_string()).await, Some(docs[i].id), "{i}");
        }
        assert_eq!(first("lighthouse").await, None);
        index.remove(&docs[8].id).await.unwrap();
        docs[9].title = "a lighthouse".into();
        index.put(&docs[9]).await.unwrap();
        assert_ne!(first("8").await, Some(docs[8].id), "deleted");
        assert_eq!(first("lighthouse").await, Some(docs[9].id), "put again");
    }
}
