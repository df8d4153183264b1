//! The search index of the local stack: tantivy, embedded, in the state folder. It matches as the OpenSearch query
//! does (see `framelift_shared::domain::SearchText`'s module): every word exactly, within `AUTO` edits, and the last
//! one as a prefix, in title, author and description weighed 3, 2 and 1; one analyzer folds case and accents for the
//! documents and the query alike.

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
        Ok(Self { index, reader, writing: Arc::new(Mutex::new(())), id, fields })
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

    fn query(&self, text: &SearchText) -> BooleanQuery {
        let words = self.words(text.as_str());
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut should = |q: Box<dyn Query>, boost: f32| clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
        for (i, word) in words.iter().enumerate() {
            let edits = auto_fuzziness(word.chars().count());
            for &(field, boost) in &self.fields {
                let term = Term::from_field_text(field, word);
                should(Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)), boost);
                if edits > 0 {
                    should(Box::new(FuzzyTermQuery::new(term.clone(), edits, true)), boost * 0.5);
                }
                if i + 1 == words.len() {
                    should(Box::new(FuzzyTermQuery::new_prefix(term, 0, true)), boost * 0.5);
                }
            }
        }
        BooleanQuery::new(clauses)
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
        let query = self.query(text);
        let searcher = self.reader.searcher();
        let (top, total) = searcher.search(&query, &(TopDocs::with_limit(limit).order_by_score(), Count)).map_err(failed)?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(failed)?;
            if let Some(id) = doc.get_first(self.id).and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                ids.push(id);
            }
        }
        Ok(SearchHits { ids, total: total as u64 })
    }
}
