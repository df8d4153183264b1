//! The contract of [`SearchIndex`]: the same query cases on every adapter (the in-memory fake, tantivy, and OpenSearch
//! when `OPENSEARCH_URL` names a cluster). Each case gets a fresh, empty index from `fresh`.

use framelift_shared::domain::{SearchDocument, SearchText, VideoId};
use framelift_shared::ports::SearchIndex;
use std::future::Future;
use time::OffsetDateTime;

pub fn doc(title: &str, author: &str, description: &str) -> SearchDocument {
    SearchDocument {
        id: VideoId::generate(),
        title: title.into(),
        author: author.into(),
        description: description.into(),
        created_at: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    }
}

async fn ids(index: &dyn SearchIndex, q: &str) -> Vec<VideoId> {
    index.search(&SearchText::parse(q).unwrap(), 10).await.unwrap().ids
}

/// The documents every case starts from.
struct Library {
    day9: SearchDocument,
    sourdough: SearchDocument,
    rust_title: SearchDocument,
    rust_description: SearchDocument,
    cafe: SearchDocument,
}

async fn library(index: &dyn SearchIndex) -> Library {
    let lib = Library {
        day9: doc("Day 9", "Keerti", "Adaptive bitrate streaming with HLS"),
        sourdough: doc("Sourdough at home", "Alice Baker", "Bread for beginners, streaming live from my kitchen"),
        rust_title: doc("Rust in production", "Bob", "Lessons from a year of services"),
        rust_description: doc("Weekend project", "Carol", "A garden shed, some rust, and paint"),
        cafe: doc("Café crème", "Zoë", "Morning coffee"),
    };
    for d in [&lib.day9, &lib.sourdough, &lib.rust_title, &lib.rust_description, &lib.cafe] {
        index.put(d).await.unwrap();
    }
    lib
}

/// Every case, in order.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Box<dyn SearchIndex>>,
{
    words_match_in_every_field(&*fresh().await).await;
    typos_within_auto_edits_match(&*fresh().await).await;
    the_last_word_matches_as_a_prefix(&*fresh().await).await;
    title_weighs_more_than_description_and_more_words_rank_higher(&*fresh().await).await;
    case_and_accents_fold(&*fresh().await).await;
    put_replaces_and_remove_removes(&*fresh().await).await;
    limit_bounds_the_page_and_total_counts_all(&*fresh().await).await;
    any_text_is_a_query_not_a_syntax_error(&*fresh().await).await;
}

async fn words_match_in_every_field(index: &dyn SearchIndex) {
    let lib = library(index).await;
    assert_eq!(ids(index, "sourdough").await, [lib.sourdough.id], "title");
    assert_eq!(ids(index, "keerti").await, [lib.day9.id], "author");
    assert_eq!(ids(index, "bread").await, [lib.sourdough.id], "description");
    assert_eq!(ids(index, "zebra").await, [], "no match is an empty page");
    assert_eq!(index.search(&SearchText::parse("zebra").unwrap(), 10).await.unwrap().total, 0);
}

async fn typos_within_auto_edits_match(index: &dyn SearchIndex) {
    let lib = library(index).await;
    assert_eq!(ids(index, "keetri").await, [lib.day9.id], "two letters swapped in the author's name");
    assert_eq!(ids(index, "sourdugh").await, [lib.sourdough.id], "a letter missing");
    assert_eq!(ids(index, "adaptlve").await, [lib.day9.id], "a letter wrong");
    assert_eq!(ids(index, "kexxxi").await, [], "three edits in six letters are too many");
    assert_eq!(ids(index, "dy").await, [], "two-letter words must be exact");
}

async fn the_last_word_matches_as_a_prefix(index: &dyn SearchIndex) {
    let lib = library(index).await;
    assert_eq!(ids(index, "adap").await, [lib.day9.id], "as one types");
    assert_eq!(ids(index, "bread for begi").await, [lib.sourdough.id]);
    assert_eq!(ids(index, "sou").await, [lib.sourdough.id]);
}

async fn title_weighs_more_than_description_and_more_words_rank_higher(index: &dyn SearchIndex) {
    let lib = library(index).await;
    assert_eq!(ids(index, "rust").await, [lib.rust_title.id, lib.rust_description.id], "title first");
    let found = ids(index, "keerti streaming").await;
    assert_eq!(found.first(), Some(&lib.day9.id), "both words beat one: {found:?}");
    assert!(found.contains(&lib.sourdough.id), "any one word is enough");
    assert_eq!(ids(index, "alice baker bread").await.first(), Some(&lib.sourdough.id));
}

async fn case_and_accents_fold(index: &dyn SearchIndex) {
    let lib = library(index).await;
    assert_eq!(ids(index, "CAFE").await, [lib.cafe.id]);
    assert_eq!(ids(index, "creme").await, [lib.cafe.id]);
    assert_eq!(ids(index, "zoe").await, [lib.cafe.id]);
    assert_eq!(ids(index, "Café").await, [lib.cafe.id]);
}

async fn put_replaces_and_remove_removes(index: &dyn SearchIndex) {
    let lib = library(index).await;
    // Searched before each change too, so an index that keeps answers (or parts of them) must let them go.
    assert_eq!(ids(index, "sourdough").await, [lib.sourdough.id]);
    assert_eq!(ids(index, "keerti").await, [lib.day9.id]);
    let mut renamed = lib.sourdough.clone();
    renamed.title = "Focaccia".into();
    index.put(&renamed).await.unwrap();
    assert_eq!(ids(index, "focaccia").await, [lib.sourdough.id]);
    assert_eq!(ids(index, "sourdough").await, [], "the old title is gone");
    index.remove(&lib.day9.id).await.unwrap();
    assert_eq!(ids(index, "keerti").await, []);
    index.remove(&lib.day9.id).await.unwrap();
    index.remove(&VideoId::generate()).await.expect("removing what is not there is not an error");
    assert_eq!(ids(index, "focaccia").await, [lib.sourdough.id], "others stay");
}

async fn limit_bounds_the_page_and_total_counts_all(index: &dyn SearchIndex) {
    let mut all = Vec::new();
    for i in 0..30 {
        let d = doc(&format!("Cooking lesson {i}"), "Dana", "");
        index.put(&d).await.unwrap();
        all.push(d.id);
    }
    let hits = index.search(&SearchText::parse("cooking").unwrap(), 10).await.unwrap();
    assert_eq!((hits.ids.len(), hits.total), (10, 30));
    assert!(hits.ids.iter().all(|id| all.contains(id)));
    let mut unique = hits.ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "no id twice");
}

async fn any_text_is_a_query_not_a_syntax_error(index: &dyn SearchIndex) {
    let lib = library(index).await;
    for q in ["c++ \"unbalanced (", "title:rust OR", "-sourdough", "rust*?~2", "AND", "Day 9 /"] {
        index.search(&SearchText::parse(q).unwrap(), 10).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    assert!(ids(index, "\"day 9\"").await.contains(&lib.day9.id));
}
