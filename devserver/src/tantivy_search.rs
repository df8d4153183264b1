//! The search index of the local stack: tantivy, embedded, in the state folder. It matches as the OpenSearch query
//! does (see `framelift_shared::domain::SearchText`'s module): every word exactly, within `AUTO` edits, and the last
//! one as a prefix, in title, author and description weighed 3, 2 and 1; one analyzer folds case and accents for the
//! documents and the query alike. What each word adds to each document's score is worked out once per generation of
//! the index and kept (`GenerationCache`), so a query of words seen before costs an addition per document.

use crate::term_neighbourhoods::{Lists, TermNeighbourhoods};
use async_trait::async_trait;
use framelift_shared::domain::{SEARCH_FIELDS, SearchDocument, SearchHits, SearchText, VideoId, auto_fuzziness};
use framelift_shared::ports::{SearchIndex, StoreError};
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::directory::MmapDirectory;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::{Postings, TermInfo};
use tantivy::query::Bm25Weight;
#[cfg(test)]
use tantivy::query::{FuzzyTermQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, InvertedIndexReader, ReloadPolicy, Searcher, SegmentReader, TERMINATED,
    TantivyDocument, Term,
};

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
    cache: Mutex<GenerationCache>,
    segment_terms: Arc<SegmentTerms>,
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
        let this = Self {
            index,
            reader,
            writing: Arc::new(Mutex::new(())),
            id,
            fields,
            cache: Mutex::default(),
            segment_terms: Arc::new(SegmentTerms::new(id)),
        };
        this.segment_terms.warm(&this.reader.searcher(), &this.searched_fields())?;
        Ok(this)
    }

    fn searched_fields(&self) -> Vec<Field> {
        self.fields.iter().map(|(field, _)| *field).collect()
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
        self.reader.reload().map_err(failed)?;
        let (terms, searcher, fields) = (self.segment_terms.clone(), self.reader.searcher(), self.searched_fields());
        tokio::task::spawn_blocking(move || terms.warm(&searcher, &fields)).await.map_err(failed)?.map_err(failed)
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

    /// What `word` adds to each document's score on `searcher`: from the cache while the index is unchanged, else
    /// worked out (and kept).
    fn word_scores(&self, searcher: &Searcher, word: &str, last: bool) -> tantivy::Result<Arc<WordScores>> {
        let generation = searcher.generation().generation_id();
        let key = (word.to_owned(), last);
        if let Some(found) = self.cache.lock().expect("not poisoned").word(generation, &key) {
            return Ok(found);
        }
        let scores = Arc::new(self.score_word(searcher, word, last)?);
        self.cache.lock().expect("not poisoned").keep_word(generation, key, scores.clone());
        Ok(scores)
    }

    /// The best `limit` matches for `text`, best first, and how many documents match.
    fn best(&self, searcher: &Searcher, text: &SearchText, limit: usize) -> tantivy::Result<(Vec<Hit>, u64)> {
        let words = self.words(text.as_str());
        let scores = words
            .iter()
            .enumerate()
            .map(|(i, word)| self.word_scores(searcher, word, i + 1 == words.len()))
            .collect::<tantivy::Result<Vec<_>>>()?;
        // Every match counts towards the total; the best `limit` stay in a heap whose top is the worst of them
        // ([`Page`]). Documents come in address order, so a later one must score strictly more than the worst kept.
        // In a segment where every word is sparse, its documents are merged from the words' lists. Otherwise one pass
        // over the documents, a block at a time. A block that a dense word matches throughout, and whose best
        // possible sum (each word's best in the block, added in the order the sums are) cannot beat the bar, only
        // counts. One where every dense word scores the same throughout, and their sum is no more than the bar:
        // counted, and only the documents the sparse words add to offered. Any other: its sums (dense words added,
        // sparse words merged in), its matches counted, and only if its best beats the bar, looked at document by
        // document.
        let mut page = Page::new(limit);
        let mut sums = [0f32; BLOCK];
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let dense: Vec<&DenseScores> = scores.iter().filter_map(|word| word.segments[ord].as_dense()).collect();
            let mut sparse: Vec<&[(DocId, f32)]> = scores.iter().filter_map(|word| word.segments[ord].as_sparse()).collect();
            if dense.is_empty() {
                page.merge(ord as u32, sparse);
                continue;
            }
            let mut inside = vec![0; sparse.len()];
            let mut lists = Vec::with_capacity(sparse.len());
            let max_doc = segment.max_doc() as usize;
            for (block, start) in (0..max_doc).step_by(BLOCK).enumerate() {
                let end = (start + BLOCK).min(max_doc);
                let (mut ceiling, mut all_match) = (0f32, false);
                for word in &dense {
                    ceiling += word.blocks[block].best;
                    all_match |= word.blocks[block].all_match;
                }
                for (scores, inside) in sparse.iter().zip(inside.iter_mut()) {
                    let (mut n, mut top) = (0, 0f32);
                    while let Some(&(doc, s)) = scores.get(n)
                        && (doc as usize) < end
                    {
                        top = top.max(s);
                        n += 1;
                    }
                    *inside = n;
                    ceiling += top;
                }
                if all_match && (limit == 0 || ceiling <= page.bar) {
                    page.total += (end - start) as u64;
                    sparse.iter_mut().zip(&inside).for_each(|(scores, &inside)| *scores = &scores[inside..]);
                    continue;
                }
                // Every dense word the same throughout the block, their sum no better than the bar: only the documents
                // the sparse words add to can get in, and every document matches.
                if dense.iter().all(|word| word.blocks[block].constant) {
                    let base = dense.iter().fold(0f32, |sum, word| sum + word.blocks[block].best);
                    if base <= page.bar {
                        page.total += (end - start) as u64;
                        lists.clear();
                        lists.extend(sparse.iter().zip(&inside).map(|(scores, &inside)| &scores[..inside]));
                        merged(&mut lists, base, |doc, score| page.offer(score, DocAddress::new(ord as u32, doc)));
                        sparse.iter_mut().zip(&inside).for_each(|(scores, &inside)| *scores = &scores[inside..]);
                        continue;
                    }
                }
                let sums = &mut sums[..end - start];
                sums.fill(0.0);
                for word in &dense {
                    sums.iter_mut().zip(&word.scores[start..end]).for_each(|(sum, s)| *sum += s);
                }
                for (scores, &inside) in sparse.iter_mut().zip(&inside) {
                    scores[..inside].iter().for_each(|&(doc, s)| sums[doc as usize - start] += s);
                    *scores = &scores[inside..];
                }
                // Both as folds without early exit over 32-bit lanes, so they vectorize.
                let bar = page.bar;
                let (matches, beats_bar) = sums.iter().fold((0u32, false), |(n, beats), &s| (n + u32::from(s > 0.0), beats | (s > bar)));
                page.total += u64::from(matches);
                if limit == 0 || !beats_bar {
                    continue;
                }
                for (i, &score) in sums.iter().enumerate() {
                    page.offer(score, DocAddress::new(ord as u32, (start + i) as DocId));
                }
            }
        }
        Ok(page.finish())
    }

    /// One word's matches, as the OpenSearch query scores them: the word itself (BM25), within its `AUTO` edits and,
    /// for the last word, as a prefix (both a constant half the field's weight: a document counts once however many
    /// of its terms match), in each field. Every term comes from the segment's [`FieldTerms`] rather than from tantivy's
    /// queries: the word itself and the terms within its edits from the [`TermNeighbourhoods`] (the word is filed
    /// there under itself; a word that is a term has its neighbours and their documents listed already), its prefixes
    /// from [`TermNeighbourhoods::prefixed`], and a rare term's postings from memory.
    /// What each clause adds is summed per document in the order the clauses come (as the boolean query sums them),
    /// and the scores of tantivy's `TermQuery` (`Bm25Weight`, over the whole index) are used for the word itself.
    fn score_word(&self, searcher: &Searcher, word: &str, last: bool) -> tantivy::Result<WordScores> {
        let edits = auto_fuzziness(word.chars().count());
        let fields = self.searched(searcher)?;
        // The word's ordinal in each segment's terms of each field, if it is one of them.
        let exact: Vec<Vec<Option<u32>>> =
            fields.segments.iter().map(|fields| fields.iter().map(|field| field.terms.neighbourhoods.find(word)).collect()).collect();
        let weights: Vec<Option<Arc<Bm25Weight>>> = (0..self.fields.len())
            .map(|i| {
                let doc_freq: u64 = fields
                    .segments
                    .iter()
                    .zip(&exact)
                    .filter_map(|(fields, ords)| Some(u64::from(fields[i].terms.infos[ords[i]? as usize].doc_freq)))
                    .sum();
                (doc_freq > 0).then(|| fields.weight(i, doc_freq))
            })
            .collect();
        let mut segments = Vec::with_capacity(fields.segments.len());
        for ((segment, fields), exact) in searcher.segment_readers().iter().zip(&fields.segments).zip(&exact) {
            let mut sums = Sums::new(segment);
            for (((&(_, boost), field), weight), exact) in self.fields.iter().zip(fields).zip(&weights).zip(exact) {
                if let (Some(ord), Some(weight)) = (exact, weight) {
                    let norms = &field.norms;
                    field.terms.postings(&field.index, *ord, |doc, freq| sums.add(doc, weight.score(norms.fieldnorm_id(doc), freq)))?;
                }
                if last {
                    sums.add_each(&field.terms.docs(&field.index, field.terms.neighbourhoods.prefixed(word))?, boost * 0.5);
                }
            }
            if edits > 0 {
                for ((&(_, boost), field), exact) in self.fields.iter().zip(fields).zip(exact) {
                    let near = match exact {
                        Some(ord) => field.terms.near_docs(&field.index, *ord)?,
                        None => Cow::Owned(field.terms.docs(&field.index, field.terms.neighbourhoods.within(word, edits))?),
                    };
                    sums.add_each(&near, boost * 0.5);
                }
            }
            segments.push(sums.finish());
        }
        Ok(WordScores { segments })
    }

    /// The searched fields of `searcher`'s segments, gathered once for its generation.
    fn searched(&self, searcher: &Searcher) -> tantivy::Result<Arc<SearchedFields>> {
        let generation = searcher.generation().generation_id();
        if let Some(found) = self.cache.lock().expect("not poisoned").at(generation).fields.clone() {
            return Ok(found);
        }
        let fields = Arc::new(SearchedFields::of(searcher, &self.fields, &self.segment_terms)?);
        self.cache.lock().expect("not poisoned").at(generation).fields = Some(fields.clone());
        Ok(fields)
    }
}

/// What scoring a word reads of the searched fields of one generation of the index, gathered once: each segment's
/// filed terms, inverted index and norms of each field, what BM25 weighs a field's terms by, and the weights made so
/// far (a weight depends only on the field and how many documents have the term: every number in a title is in one).
struct SearchedFields {
    /// By segment ordinal, then field (in [`SEARCH_FIELDS`] order).
    segments: Vec<Vec<SearchedField>>,
    /// By segment ordinal, then document: its video id.
    ids: Vec<Arc<[Option<VideoId>]>>,
    /// By field: its boost and the average number of its tokens in a document.
    boosts: Vec<(f32, f32)>,
    total_docs: u64,
    weights: Mutex<HashMap<(usize, u64), Arc<Bm25Weight>>>,
}

struct SearchedField {
    terms: Arc<FieldTerms>,
    index: Arc<InvertedIndexReader>,
    norms: FieldNormReader,
}

impl SearchedFields {
    fn of(searcher: &Searcher, fields: &[(Field, f32)], terms: &SegmentTerms) -> tantivy::Result<Self> {
        let readers = searcher.segment_readers();
        let segments = readers
            .iter()
            .map(|segment| {
                fields
                    .iter()
                    .map(|&(field, _)| {
                        let (terms, index, norms) =
                            (terms.of(segment, field)?, segment.inverted_index(field)?, segment.get_fieldnorms_reader(field)?);
                        Ok(SearchedField { terms, index, norms })
                    })
                    .collect::<tantivy::Result<Vec<_>>>()
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        let ids = readers.iter().map(|segment| terms.ids_of(segment)).collect::<tantivy::Result<_>>()?;
        let total_docs: u64 = readers.iter().map(|segment| u64::from(segment.max_doc())).sum();
        let boosts = (0..fields.len())
            .map(|i| {
                let tokens: u64 = segments.iter().map(|fields: &Vec<SearchedField>| fields[i].index.total_num_tokens()).sum();
                (fields[i].1, tokens as f32 / total_docs as f32)
            })
            .collect();
        Ok(Self { segments, ids, boosts, total_docs, weights: Mutex::default() })
    }

    /// tantivy's `TermQuery` weight of a term of field `i` that `doc_freq` documents have, with the field's boost.
    fn weight(&self, i: usize, doc_freq: u64) -> Arc<Bm25Weight> {
        let (boost, average_tokens) = self.boosts[i];
        let mut weights = self.weights.lock().expect("not poisoned");
        let made = || Arc::new(Bm25Weight::for_one_term_without_explain(doc_freq, self.total_docs, average_tokens).boost_by(boost));
        weights.entry((i, doc_freq)).or_insert_with(made).clone()
    }
}

/// One word's score per document of a segment as its clauses are added: a list of (document, score) while few
/// documents have one, every document's sum once many may (at half the segment). Either way a document's scores are
/// added in the order they come, so both make the same sums; deleted documents get none.
struct Sums<'a> {
    segment: &'a SegmentReader,
    added: Vec<(DocId, f32)>,
    dense: Option<Vec<f32>>,
}

impl<'a> Sums<'a> {
    fn new(segment: &'a SegmentReader) -> Self {
        Self { segment, added: Vec::new(), dense: None }
    }

    fn add(&mut self, doc: DocId, score: f32) {
        if self.segment.alive_bitset().is_some_and(|alive| !alive.is_alive(doc)) {
            return;
        }
        if let Some(sums) = &mut self.dense {
            sums[doc as usize] += score;
            return;
        }
        self.added.push((doc, score));
        if self.added.len() * 2 >= self.segment.max_doc() as usize {
            let mut sums = vec![0f32; self.segment.max_doc() as usize];
            self.added.drain(..).for_each(|(doc, score)| sums[doc as usize] += score);
            self.dense = Some(sums);
        }
    }

    fn add_each(&mut self, docs: &[DocId], score: f32) {
        if self.dense.is_none() {
            self.added.reserve(docs.len());
        }
        docs.iter().for_each(|&doc| self.add(doc, score));
    }

    fn finish(mut self) -> SegmentScores {
        if let Some(sums) = self.dense {
            return SegmentScores::from_sums(sums);
        }
        // Stable: a document's scores stay in the order they were added, and each later one is added to the first.
        self.added.sort_by_key(|&(doc, _)| doc);
        self.added.dedup_by(|(doc, score), (first, sum)| {
            let same = doc == first;
            if same {
                *sum += *score;
            }
            same
        });
        SegmentScores::Sparse(self.added)
    }
}

/// Each live segment's terms, per field, filed for finding a word, its prefixes and its neighbours ([`FieldTerms`]),
/// and its documents' video ids. Filed when the index opens and after each write (off the async threads), so no
/// search waits for it; kept while the segment is in the index (a segment never changes; merges replace segments).
struct SegmentTerms {
    kept: Mutex<HashMap<(SegmentId, Field), Arc<FieldTerms>>>,
    /// The field of the video ids, and each segment's ids by document, read from that field's terms when the segment
    /// is filed: a page of results then reads no stored document (each would be decompressed and parsed).
    id: Field,
    ids: Mutex<HashMap<SegmentId, Arc<[Option<VideoId>]>>>,
}

/// One field's terms in one segment, in the dictionary's (byte) order: filed for fuzzy matching, where each one's
/// postings are, and a rare term's postings themselves.
struct FieldTerms {
    neighbourhoods: TermNeighbourhoods,
    /// By term ordinal.
    infos: Vec<TermInfo>,
    inline: InlinePostings,
    /// By term ordinal, the documents of its neighbours ([`TermNeighbourhoods::near`]) in order and each once, where
    /// all their postings are kept in `inline`; empty where not (a term is its own neighbour, so a list kept is never
    /// empty). A word that is a term finds what its typos match in one read.
    near_docs: Lists<DocId>,
}

/// The postings (documents and term frequencies) of the terms in at most [`InlinePostings::MAX_DOCS`] documents:
/// a typo or a prefix mostly finds such terms, and reading them here costs no decoding.
#[derive(Default)]
struct InlinePostings {
    /// Where each term's postings start in `docs` and `freqs`, by ordinal, and where the last ends; a term not kept
    /// here has none.
    starts: Vec<u32>,
    docs: Vec<DocId>,
    freqs: Vec<u32>,
}

impl InlinePostings {
    const MAX_DOCS: u32 = 32;

    /// The documents of term `ord` and how often it is in each, if they are kept here.
    fn get(&self, ord: u32) -> Option<(&[DocId], &[u32])> {
        // Every term is in at least one document, so one with none here is not kept here (its `TermInfo`, elsewhere
        // in memory, need not be read to tell).
        let (start, end) = (self.starts[ord as usize] as usize, self.starts[ord as usize + 1] as usize);
        (start < end).then(|| (&self.docs[start..end], &self.freqs[start..end]))
    }
}

impl FieldTerms {
    fn read(index: &InvertedIndexReader) -> tantivy::Result<Self> {
        let dictionary = index.terms();
        let (mut terms, mut infos): (Vec<Box<str>>, _) =
            (Vec::with_capacity(dictionary.num_terms()), Vec::with_capacity(dictionary.num_terms()));
        let mut inline = InlinePostings { starts: Vec::with_capacity(dictionary.num_terms() + 1), ..InlinePostings::default() };
        let mut stream = dictionary.stream()?;
        while stream.advance() {
            let info = stream.value().clone();
            inline.starts.push(inline.docs.len() as u32);
            if info.doc_freq <= InlinePostings::MAX_DOCS {
                let mut postings = index.read_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
                while postings.doc() != TERMINATED {
                    inline.docs.push(postings.doc());
                    inline.freqs.push(postings.term_freq());
                    postings.advance();
                }
            }
            terms.push(String::from_utf8_lossy(stream.key()).into());
            infos.push(info);
        }
        inline.starts.push(inline.docs.len() as u32);
        let neighbourhoods = TermNeighbourhoods::new(terms, auto_fuzziness);
        let mut near_docs = Lists::default();
        let mut docs = Vec::new();
        for ord in 0..infos.len() as u32 {
            docs.clear();
            let kept = neighbourhoods.near(ord).iter().all(|&near| inline.get(near).map(|(d, _)| docs.extend_from_slice(d)).is_some());
            docs.sort_unstable();
            docs.dedup();
            near_docs.push(if kept { &docs[..] } else { &[] }.iter().copied());
        }
        Ok(Self { neighbourhoods, infos, inline, near_docs })
    }

    /// The documents of term `ord`'s neighbours ([`TermNeighbourhoods::near`]), in order, each once.
    fn near_docs(&self, index: &InvertedIndexReader, ord: u32) -> tantivy::Result<Cow<'_, [DocId]>> {
        match self.near_docs.get(ord) {
            [] => Ok(Cow::Owned(self.docs(index, self.neighbourhoods.near(ord).iter().copied())?)),
            kept => Ok(Cow::Borrowed(kept)),
        }
    }

    /// Calls `found` with each document of term `ord` and how often the term is in it, in document order.
    fn postings(&self, index: &InvertedIndexReader, ord: u32, mut found: impl FnMut(DocId, u32)) -> tantivy::Result<()> {
        if let Some((docs, freqs)) = self.inline.get(ord) {
            docs.iter().zip(freqs).for_each(|(&doc, &freq)| found(doc, freq));
            return Ok(());
        }
        let mut postings = index.read_postings_from_terminfo(&self.infos[ord as usize], IndexRecordOption::WithFreqs)?;
        while postings.doc() != TERMINATED {
            found(postings.doc(), postings.term_freq());
            postings.advance();
        }
        Ok(())
    }

    /// The documents with any of the terms `ords`, in order, each once.
    fn docs(&self, index: &InvertedIndexReader, ords: impl IntoIterator<Item = u32>) -> tantivy::Result<Vec<DocId>> {
        let mut docs = Vec::new();
        for ord in ords {
            if let Some((inline, _)) = self.inline.get(ord) {
                docs.extend_from_slice(inline);
                continue;
            }
            let mut postings = index.read_block_postings_from_terminfo(&self.infos[ord as usize], IndexRecordOption::Basic)?;
            while !postings.docs().is_empty() {
                docs.extend_from_slice(postings.docs());
                postings.advance();
            }
        }
        docs.sort_unstable();
        docs.dedup();
        Ok(docs)
    }
}

impl SegmentTerms {
    fn new(id: Field) -> Self {
        Self { kept: Mutex::default(), id, ids: Mutex::default() }
    }

    /// Files `fields` and the ids of every segment of `searcher` not filed yet, and lets go of segments no longer in
    /// it.
    fn warm(&self, searcher: &Searcher, fields: &[Field]) -> tantivy::Result<()> {
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        self.kept.lock().expect("not poisoned").retain(|(segment, _), _| live.contains(segment));
        self.ids.lock().expect("not poisoned").retain(|segment, _| live.contains(segment));
        for segment in searcher.segment_readers() {
            for &field in fields {
                self.of(segment, field)?;
            }
            self.ids_of(segment)?;
        }
        Ok(())
    }

    /// The video id of each document of `segment`, read the first time they are asked for.
    fn ids_of(&self, segment: &SegmentReader) -> tantivy::Result<Arc<[Option<VideoId>]>> {
        if let Some(found) = self.ids.lock().expect("not poisoned").get(&segment.segment_id()) {
            return Ok(found.clone());
        }
        let mut ids = vec![None; segment.max_doc() as usize];
        let index = segment.inverted_index(self.id)?;
        let mut stream = index.terms().stream()?;
        while stream.advance() {
            let id: Option<VideoId> = std::str::from_utf8(stream.key()).ok().and_then(|id| id.parse().ok());
            let mut postings = index.read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)?;
            while postings.doc() != TERMINATED {
                ids[postings.doc() as usize] = id;
                postings.advance();
            }
        }
        let ids: Arc<[Option<VideoId>]> = ids.into();
        self.ids.lock().expect("not poisoned").insert(segment.segment_id(), ids.clone());
        Ok(ids)
    }

    /// `field`'s terms in `segment`, filed the first time they are asked for.
    fn of(&self, segment: &SegmentReader, field: Field) -> tantivy::Result<Arc<FieldTerms>> {
        let key = (segment.segment_id(), field);
        if let Some(found) = self.kept.lock().expect("not poisoned").get(&key) {
            return Ok(found.clone());
        }
        let made = Arc::new(FieldTerms::read(&*segment.inverted_index(field)?)?);
        self.kept.lock().expect("not poisoned").insert(key, made.clone());
        Ok(made)
    }
}

/// What one word of a query adds to each document's score (0: no match), per segment of the searcher it was worked
/// out on. A query's score is the sum over its words, as the boolean query of the OpenSearch adapter sums its clauses.
struct WordScores {
    segments: Vec<SegmentScores>,
}

/// Documents are summed and ranked this many at a time.
const BLOCK: usize = 256;

enum SegmentScores {
    /// A score for every document: a word most documents match (4 bytes a document).
    Dense(DenseScores),
    /// The matching documents and their scores: a word few documents match (8 bytes a match).
    Sparse(Vec<(DocId, f32)>),
}

struct DenseScores {
    scores: Vec<f32>,
    /// Per [`BLOCK`] of documents.
    blocks: Vec<BlockSummary>,
}

#[derive(Clone, Copy)]
struct BlockSummary {
    /// The best score in the block.
    best: f32,
    /// Whether every document in the block matches.
    all_match: bool,
    /// Whether every document in the block matches with the same score (`best`): a typo, a prefix or a word in titles
    /// of one length, say.
    constant: bool,
}

impl SegmentScores {
    fn from_sums(sums: Vec<f32>) -> Self {
        // Folds over 32-bit lanes without early exit, so they vectorize; a sparse word's zeros are skipped 16 at a time.
        let matches = sums.iter().fold(0u32, |n, &s| n + u32::from(s > 0.0)) as usize;
        if matches * 2 >= sums.len() {
            let blocks = sums
                .chunks(BLOCK)
                .map(|block| {
                    let (matches, best, least) = block
                        .iter()
                        .fold((0u32, 0f32, f32::INFINITY), |(n, best, least), &s| (n + u32::from(s > 0.0), best.max(s), least.min(s)));
                    let all_match = matches as usize == block.len();
                    BlockSummary { best, all_match, constant: all_match && least == best }
                })
                .collect();
            return Self::Dense(DenseScores { scores: sums, blocks });
        }
        let mut sparse = Vec::with_capacity(matches);
        for (block, chunk) in sums.chunks(16).enumerate().filter(|(_, chunk)| chunk.iter().fold(false, |any, &s| any | (s > 0.0))) {
            let at = |i: usize| (block * 16 + i) as DocId;
            sparse.extend(chunk.iter().enumerate().filter(|(_, s)| **s > 0.0).map(|(i, &s)| (at(i), s)));
        }
        Self::Sparse(sparse)
    }

    fn as_dense(&self) -> Option<&DenseScores> {
        match self {
            Self::Dense(scores) => Some(scores),
            Self::Sparse(_) => None,
        }
    }

    fn as_sparse(&self) -> Option<&[(DocId, f32)]> {
        match self {
            Self::Dense(_) => None,
            Self::Sparse(scores) => Some(scores),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Self::Dense(dense) => dense.scores.len() * 4 + dense.blocks.len() * 8,
            Self::Sparse(scores) => scores.len() * 8,
        }
    }
}

/// What searching worked out on one generation of the index (any write makes a new one and empties this):
///
/// - the searched fields of its segments and their documents' ids ([`SearchedFields`]), so a new word looks none of
///   them up;
/// - words' scores. Typing a query repeats its words many times over, and the words people search for repeat across
///   people: a word seen before costs an addition per document instead of automata, term lookups and postings in
///   three fields.
#[derive(Default)]
struct GenerationCache {
    generation: u64,
    fields: Option<Arc<SearchedFields>>,
    bytes: usize,
    words: HashMap<(String, bool), Arc<WordScores>>,
}

impl GenerationCache {
    /// What the words may take; when full they start over (the words people use come back at once).
    const MAX_BYTES: usize = 64 << 20;
    /// This cache for `generation`, emptied if it held another's.
    fn at(&mut self, generation: u64) -> &mut Self {
        if self.generation != generation {
            *self = Self { generation, ..Self::default() };
        }
        self
    }

    fn word(&mut self, generation: u64, key: &(String, bool)) -> Option<Arc<WordScores>> {
        self.at(generation).words.get(key).cloned()
    }

    fn keep_word(&mut self, generation: u64, key: (String, bool), scores: Arc<WordScores>) {
        let bytes: usize = scores.segments.iter().map(SegmentScores::bytes).sum();
        let this = self.at(generation);
        if this.bytes + bytes > Self::MAX_BYTES {
            this.words.clear();
            this.bytes = 0;
        }
        if bytes <= Self::MAX_BYTES {
            this.bytes += bytes;
            this.words.insert(key, scores);
        }
    }
}

/// The best `limit` matches so far, in a heap whose top is the worst of them, and how many matched in all.
struct Page {
    limit: usize,
    best: BinaryHeap<Reverse<Hit>>,
    /// What a match must beat to get in: the worst kept once the page is full, else 0.
    bar: f32,
    total: u64,
}

impl Page {
    fn new(limit: usize) -> Self {
        Self { limit, best: BinaryHeap::with_capacity(limit + 1), bar: 0.0, total: 0 }
    }

    /// A match (or not, at 0), offered after every match at an earlier address.
    fn offer(&mut self, score: f32, address: DocAddress) {
        if score <= self.bar || self.limit == 0 {
            return;
        }
        let hit = Reverse(Hit { score, address });
        if self.best.len() < self.limit {
            self.best.push(hit);
        } else if let Some(mut worst) = self.best.peek_mut() {
            // Full: the new match takes the worst one's place (one sift, where a pop and a push take two).
            *worst = hit;
        }
        if self.best.len() == self.limit {
            self.bar = self.best.peek().map_or(0.0, |worst| worst.0.score);
        }
    }

    /// Counts and offers the documents of segment `ord` in `words`' lists, each with the sum of its scores (added in
    /// the order of the words, as the block sums are).
    fn merge(&mut self, ord: u32, mut words: Vec<&[(DocId, f32)]>) {
        merged(&mut words, 0.0, |doc, sum| {
            if sum > 0.0 {
                self.total += 1;
                self.offer(sum, DocAddress::new(ord, doc));
            }
        });
    }

    fn finish(self) -> (Vec<Hit>, u64) {
        (self.best.into_sorted_vec().into_iter().map(|Reverse(hit)| hit).collect(), self.total)
    }
}

/// Calls `found` with each document in `words`' lists (each in document order), in document order, and `base` with
/// the document's scores added to it in the order of the words; leaves the lists empty.
fn merged(words: &mut [&[(DocId, f32)]], base: f32, mut found: impl FnMut(DocId, f32)) {
    while let Some(doc) = words.iter().filter_map(|w| w.first()).map(|&(doc, _)| doc).min() {
        let mut sum = base;
        for word in words.iter_mut() {
            if let Some(&(d, s)) = word.first()
                && d == doc
            {
                sum += s;
                *word = &word[1..];
            }
        }
        found(doc, sum);
    }
}

/// A match in the top `limit`: better is greater (a higher score, then the earlier document).
#[derive(PartialEq)]
struct Hit {
    score: f32,
    address: DocAddress,
}

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.address.cmp(&self.address))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
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
        let (best, total) = self.best(&searcher, text, limit).map_err(failed)?;
        let fields = self.searched(&searcher).map_err(failed)?;
        let ids = best.iter().filter_map(|hit| fields.ids[hit.address.segment_ord as usize][hit.address.doc_id as usize]).collect();
        Ok(SearchHits { ids, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery, Occur};
    use tantivy::schema::Value;

    /// The query the word cache stands for, as one tantivy boolean query of every clause (what this adapter ran
    /// before): the word, its `AUTO` edits and the last word's prefix, in each field, summed.
    fn reference(index: &TantivySearch, text: &str) -> BooleanQuery {
        let words = index.words(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let edits = auto_fuzziness(word.chars().count());
            for &(field, boost) in &index.fields {
                let term = Term::from_field_text(field, word);
                let mut should = |q: Box<dyn Query>, boost: f32| clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
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

    /// The word cache ranks and counts exactly as the boolean query, over several segments, with deleted documents,
    /// and again (from the cache) after a write changed what the words score.
    #[tokio::test]
    async fn summed_word_scores_rank_and_count_as_the_boolean_query() {
        let index = TantivySearch::in_memory().unwrap();
        let docs: Vec<SearchDocument> = (0..600).map(doc).collect();
        // Segments of 400 and 200 documents: sums are made 256 documents at a time, so one block is partial.
        for chunk in [&docs[..400], &docs[400..]] {
            index.put_all(chunk).await.unwrap();
        }
        for d in docs.iter().step_by(9) {
            index.remove(&d.id).await.unwrap();
        }
        let queries =
            ["harbor", "sunst bred", "user 7", "user 650", "garden 12", "streeming vid", "cofee lesson 5", "numbr", "nothing here", "ru"];
        for _ in 0..2 {
            let searcher = index.reader.searcher();
            assert!(searcher.segment_readers().len() > 1, "several segments");
            for q in queries {
                assert_ranks_and_counts_as_the_reference(&index, &searcher, q);
            }
            // A write: every word's score changes (document counts do), and the cache must not answer from before.
            index.put_all(&(600..700).map(doc).collect::<Vec<_>>()).await.unwrap();
        }
    }

    /// A block every document of which matches is only counted when none of it can beat the page so far: here a
    /// short title (which scores higher) late in the second segment, after a first full of equal long ones.
    #[tokio::test]
    async fn a_block_that_could_beat_the_page_is_looked_at() {
        let index = TantivySearch::in_memory().unwrap();
        let titled = |title: &str| SearchDocument { title: title.into(), ..doc(0) };
        index.put_all(&(0..300).map(|_| titled("clip one two")).collect::<Vec<_>>()).await.unwrap();
        let mut second: Vec<SearchDocument> = (0..300).map(|_| titled("clip one two")).collect();
        second[280] = titled("clip");
        index.put_all(&second).await.unwrap();
        let searcher = index.reader.searcher();
        let (best, _) = index.best(&searcher, &SearchText::parse("clip").unwrap(), 20).unwrap();
        let top: TantivyDocument = searcher.doc(best[0].address).unwrap();
        assert_eq!(top.get_first(index.id).and_then(|v| v.as_str()), Some(second[280].id.to_string().as_str()), "the short title first");
        assert_ranks_and_counts_as_the_reference(&index, &searcher, "clip");
    }

    /// Where every dense word scores the same throughout a block (here typos, and words of titles that are all
    /// three words long), only the documents the sparse words add to are looked at, and the page and the count are
    /// still the boolean query's; where one does not (the longer titles of 450 to 459 score `clip` lower), not.
    #[tokio::test]
    async fn a_block_of_equal_scores_is_ranked_through_its_sparse_documents() {
        let index = TantivySearch::in_memory().unwrap();
        let titled = |i: usize| SearchDocument {
            title: if (450..460).contains(&i) { format!("clip number {i} with a longer title") } else { format!("clip number {i}") },
            author: format!("user {}", i % 13),
            description: "a clip".into(),
            ..doc(i)
        };
        let docs: Vec<SearchDocument> = (0..600).map(titled).collect();
        for chunk in [&docs[..400], &docs[400..]] {
            index.put_all(chunk).await.unwrap();
        }
        let searcher = index.reader.searcher();
        for word in ["clp", "numbr", "usr"] {
            let scores = index.word_scores(&searcher, word, false).unwrap();
            let dense = scores.segments[0].as_dense().unwrap_or_else(|| panic!("{word} matches every document"));
            assert!(dense.blocks.iter().all(|b| b.constant), "{word} scores the same everywhere");
        }
        for q in ["clp numbr 45", "clip number 7", "numbr 3", "usr 5", "clp 59", "clip 45"] {
            assert_ranks_and_counts_as_the_reference(&index, &searcher, q);
        }
        let (best, total) = index.best(&searcher, &SearchText::parse("clp numbr 45").unwrap(), 20).unwrap();
        let top: TantivyDocument = searcher.doc(best[0].address).unwrap();
        assert_eq!(top.get_first(index.id).and_then(|v| v.as_str()), Some(docs[45].id.to_string().as_str()), "45 itself first");
        assert_eq!(total, 600, "every document matches the typos");
    }

    /// Results come back as the ids of the videos they are, read from the id field's terms, in segments of many
    /// documents, after a deletion, and for a video put again (its new document in a new segment).
    #[tokio::test]
    async fn results_are_the_ids_of_the_videos_found() {
        let index = TantivySearch::in_memory().unwrap();
        let mut docs: Vec<SearchDocument> = (0..600).map(doc).collect();
        for chunk in [&docs[..400], &docs[400..]] {
            index.put_all(chunk).await.unwrap();
        }
        index.remove(&docs[8].id).await.unwrap();
        docs[9].title = "a lighthouse".into();
        index.put(&docs[9]).await.unwrap();
        let index = &index;
        let first = |q: &str| {
            let text = SearchText::parse(q).unwrap();
            async move { index.search(&text, 20).await.unwrap().ids.first().copied() }
        };
        for i in [0, 1, 255, 256, 399, 400, 401, 599] {
            assert_eq!(first(&i.to_string()).await, Some(docs[i].id), "{i}");
        }
        assert_ne!(first("8").await, Some(docs[8].id), "deleted");
        assert_eq!(first("lighthouse").await, Some(docs[9].id), "put again");
    }

    fn assert_ranks_and_counts_as_the_reference(index: &TantivySearch, searcher: &Searcher, q: &str) {
        let (best, total) = index.best(searcher, &SearchText::parse(q).unwrap(), 20).unwrap();
        let (top, count) = searcher.search(&reference(index, q), &(TopDocs::with_limit(20).order_by_score(), Count)).unwrap();
        assert_eq!(total, count as u64, "{q}: total");
        assert_eq!(best.len(), top.len(), "{q}: page");
        for (hit, (score, address)) in best.iter().zip(&top) {
            assert!((hit.score - score).abs() < 1e-4 * score.max(1.0), "{q}: {} vs {score}", hit.score);
            // Equal scores may come in another order; a better score never comes later.
            if best.iter().filter(|h| (h.score - score).abs() < 1e-4).count() == 1 {
                assert_eq!(hit.address, *address, "{q}");
            }
        }
    }
}
