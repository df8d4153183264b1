//! Finding the terms within a few edits of a word without walking a term dictionary with a Levenshtein automaton.
//!
//! Two words are within `d` edits (insertions, deletions, substitutions and swaps of two neighbours, each costing
//! one) only if deleting at most `d` characters from each leaves the same string. So every term is filed under the
//! strings its deletions leave (its deletion neighbourhood), and a word's candidates are the terms filed under its
//! own neighbourhood; each is then measured. This is the SymSpell method. Only the first [`PREFIX`] characters are
//! used for filing: the rule still holds for prefixes of equal length, and long words file far fewer strings.
//!
//! The search index builds one of these per field of each of its segments (segments never change), so a word seen
//! for the first time costs a few lookups instead of a walk through thousands of dictionary entries.

/// Characters of a term used for filing.
pub const PREFIX: usize = 7;
/// The most edits a lookup may allow (OpenSearch's `AUTO` fuzziness never allows more).
pub const MAX_EDITS: u8 = 2;

pub struct TermNeighbourhoods {
    /// The terms, by ordinal (their order in the dictionary they came from), one after another: term `ord` ends at
    /// `ends[ord]` and starts where the one before ends. Side by side, a binary search and the candidates of a lookup
    /// read a few cache lines rather than one allocation per term.
    text: String,
    ends: Vec<u32>,
    /// Each term's length in characters (at most 255), by ordinal: a candidate of the wrong length is turned away
    /// without reading the term.
    lengths: Vec<u8>,
    /// Every term under each string its deletions leave, by the string's hash; sorted.
    filed: Vec<Filed>,
    /// Where the entries whose hash starts with each value of its top `bucket_bits` bits begin in `filed`, and where
    /// the last ends: a lookup reads two neighbours here and then the few entries between, where a binary search of
    /// `filed` would read a cache line at each of its twenty-odd steps.
    buckets: Vec<u32>,
    bucket_bits: u32,
    /// Each term's own neighbours, worked out when filed: the ordinals of the terms within the edits its length
    /// allows, by ordinal. A word that is a term (what people mostly type) then finds its neighbours in one read
    /// instead of measuring every candidate its neighbourhood files, each a cache miss.
    near: Lists<u32>,
}

/// Lists one after another in one allocation, by index: list `i` ends at `ends[i]` and starts where the one before
/// ends.
pub struct Lists<T> {
    ends: Vec<u32>,
    items: Vec<T>,
}

impl<T> Default for Lists<T> {
    fn default() -> Self {
        Self { ends: Vec::new(), items: Vec::new() }
    }
}

impl<T: Copy> Lists<T> {
    /// Adds the next list.
    pub fn push(&mut self, list: impl IntoIterator<Item = T>) {
        self.items.extend(list);
        self.ends.push(u32::try_from(self.items.len()).expect("fewer than 4 billion items"));
    }

    /// List `i`.
    pub fn get(&self, i: u32) -> &[T] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.items[start..self.ends[i] as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Filed {
    hash: u64,
    ord: u32,
    /// How many characters were deleted from the term to leave the string.
    deletions: u8,
}

impl TermNeighbourhoods {
    /// Files `terms`, given in ordinal order, each with its neighbours within `edits(its length in characters)`
    /// (at most [`MAX_EDITS`]).
    pub fn new<S: AsRef<str>>(terms: impl IntoIterator<Item = S>, edits: impl Fn(usize) -> u8) -> Self {
        let (mut text, mut ends, mut lengths, mut filed) = (String::new(), Vec::new(), Vec::new(), Vec::new());
        let mut chars = Vec::with_capacity(PREFIX);
        for (ord, term) in terms.into_iter().enumerate() {
            let term = term.as_ref();
            text.push_str(term);
            ends.push(u32::try_from(text.len()).expect("a segment's terms fit in 4 GiB"));
            lengths.push(term.chars().count().min(255) as u8);
            chars.clear();
            chars.extend(term.chars().take(PREFIX));
            neighbourhood(&chars, MAX_EDITS, |hash, deletions| filed.push(Filed { hash, ord: ord as u32, deletions }));
        }
        filed.sort_unstable();
        // A term that leaves the same string twice keeps the fewest deletions (sorted first).
        filed.dedup_by(|later, first| later.hash == first.hash && later.ord == first.ord);
        // About two entries a bucket.
        let bucket_bits = (filed.len() / 2).max(1).ilog2().max(1);
        let mut buckets = Vec::with_capacity((1 << bucket_bits) + 1);
        let mut at = 0;
        for bucket in 0..=1u64 << bucket_bits {
            while at < filed.len() && filed[at].hash >> (64 - bucket_bits) < bucket {
                at += 1;
            }
            buckets.push(at as u32);
        }
        let mut hoods = Self { text, ends, lengths, filed, buckets, bucket_bits, near: Lists::default() };
        let mut near = Lists::default();
        for ord in 0..hoods.len() as u32 {
            let term = hoods.term(ord);
            near.push(hoods.within(term, edits(term.chars().count())));
        }
        hoods.near = near;
        hoods
    }

    /// How many terms there are.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The term of ordinal `ord`.
    pub fn term(&self, ord: u32) -> &str {
        let ord = ord as usize;
        let start = if ord == 0 { 0 } else { self.ends[ord - 1] as usize };
        &self.text[start..self.ends[ord] as usize]
    }

    /// The ordinal of `word`, if it is one of the terms: the entry it is filed under with no deletion.
    pub fn find(&self, word: &str) -> Option<u32> {
        let mut chars = ['\0'; PREFIX];
        let n = chars.iter_mut().zip(word.chars()).map(|(slot, c)| *slot = c).count();
        self.filed_under(neighbourhood_hash(&chars[..n], [usize::MAX; 2]))
            .find(|f| f.deletions == 0 && self.term(f.ord) == word)
            .map(|f| f.ord)
    }

    /// The ordinals of the terms that start with `prefix` (`prefix` itself first, if it is one), for terms in byte
    /// order (a dictionary's).
    /// A prefix that is itself a term starts there, found through its filing; the end is looked for near the start
    /// first, so a whole word (which starts few others) reads a few neighbouring terms rather than the twenty-odd cache
    /// lines of two binary searches.
    pub fn prefixed(&self, prefix: &str) -> std::ops::Range<u32> {
        let start = match self.find(prefix) {
            Some(ord) => ord as usize,
            None => partition_point(0..self.len(), |ord| self.term(ord as u32).as_bytes() < prefix.as_bytes()),
        };
        let end = gallop(start..self.len(), |ord| self.term(ord as u32).as_bytes().starts_with(prefix.as_bytes()));
        start as u32..end as u32
    }

    /// The ordinals of the terms within the edits its length allows (as given when filed) of term `ord`, itself
    /// among them, in order: what [`within`](Self::within) answers for the term.
    pub fn near(&self, ord: u32) -> &[u32] {
        self.near.get(ord)
    }

    /// The entries filed under `hash`.
    fn filed_under(&self, hash: u64) -> impl Iterator<Item = &Filed> {
        let bucket = (hash >> (64 - self.bucket_bits)) as usize;
        let entries = &self.filed[self.buckets[bucket] as usize..self.buckets[bucket + 1] as usize];
        entries.iter().skip_while(move |f| f.hash < hash).take_while(move |f| f.hash == hash)
    }

    /// The ordinals of the terms within `edits` of `word`, in order. `edits` is at most [`MAX_EDITS`].
    pub fn within(&self, word: &str, edits: u8) -> Vec<u32> {
        assert!(edits <= MAX_EDITS, "at most {MAX_EDITS} edits");
        let word: Vec<char> = word.chars().collect();
        let mut ords = Vec::new();
        neighbourhood(&word[..word.len().min(PREFIX)], edits, |hash, _| {
            ords.extend(self.filed_under(hash).filter(|f| f.deletions <= edits).map(|f| f.ord));
        });
        ords.sort_unstable();
        ords.dedup();
        // Hashes may collide and prefixes may agree where the whole words do not: each candidate is measured.
        ords.retain(|&ord| {
            usize::from(self.lengths[ord as usize]).abs_diff(word.len()) <= usize::from(edits)
                && if edits <= 1 { within_one(&word, self.term(ord), edits) } else { within_edits(&word, self.term(ord), edits) }
        });
        ords
    }
}

/// The first index in `range` for which `pred` is false, `pred` being true up to some point and false after it.
fn partition_point(range: std::ops::Range<usize>, pred: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (range.start, range.end);
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid) { low = mid + 1 } else { high = mid }
    }
    low
}

/// [`partition_point`], looking at `range.start`, then one, two, four... further on before searching between.
fn gallop(range: std::ops::Range<usize>, pred: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high, mut step) = (range.start, range.start, 1);
    while high < range.end && pred(high) {
        low = high + 1;
        high = (high + step).min(range.end);
        step *= 2;
    }
    partition_point(low..high, pred)
}

/// The hash of what is left of `chars` without the characters at `skip`.
fn neighbourhood_hash(chars: &[char], skip: [usize; 2]) -> u64 {
    chars
        .iter()
        .enumerate()
        .filter(|(i, _)| !skip.contains(i))
        .fold(0xcbf2_9ce4_8422_2325u64, |h, (_, &c)| (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(17))
}

/// Calls `found` with the hash of every string left by deleting at most `max` of `chars` (and how many were deleted).
fn neighbourhood(chars: &[char], max: u8, mut found: impl FnMut(u64, u8)) {
    let n = chars.len();
    let hash_without = |skip: [usize; 2]| neighbourhood_hash(chars, skip);
    found(hash_without([usize::MAX; 2]), 0);
    if max >= 1 {
        for i in 0..n {
            found(hash_without([i, usize::MAX]), 1);
        }
    }
    if max >= 2 {
        for i in 0..n {
            for j in i + 1..n {
                found(hash_without([i, j]), 2);
            }
        }
    }
}

/// [`within_edits`] for at most one edit, without the table: the words are the same, or differ in one character,
/// or in two neighbours swapped, or by one character more or less. Terms of more than 64 characters go to the table.
fn within_one(word: &[char], term: &str, edits: u8) -> bool {
    let mut chars = ['\0'; 64];
    let mut len = 0;
    for c in term.chars() {
        if len == chars.len() {
            return within_edits(word, term, edits);
        }
        chars[len] = c;
        len += 1;
    }
    let term = &chars[..len];
    let Some(i) = word.iter().zip(term).position(|(w, t)| w != t) else {
        // One is the other, or the other with one character more at the end.
        return word.len().abs_diff(term.len()) <= usize::from(edits);
    };
    if edits == 0 {
        return false;
    }
    match word.len() as isize - term.len() as isize {
        0 => {
            word[i + 1..] == term[i + 1..]
                || (i + 1 < word.len() && word[i] == term[i + 1] && word[i + 1] == term[i] && word[i + 2..] == term[i + 2..])
        }
        1 => word[i + 1..] == term[i..],
        -1 => word[i..] == term[i + 1..],
        _ => false,
    }
}

/// Whether `term` is within `edits` of `word`: the optimal string alignment distance (Damerau-Levenshtein where no
/// character is edited twice), which is what tantivy's and Lucene's Levenshtein automata accept with transpositions.
/// Worked out a row per character of `term`, in three rows of bytes that live on the stack for words of up to 63
/// characters (a cell never needs to hold more than `edits + 1`: larger distances are capped there).
fn within_edits(word: &[char], term: &str, edits: u8) -> bool {
    let n = word.len();
    let cap = edits + 1;
    let mut stack = [0u8; 3 * 64];
    let mut heap = Vec::new();
    let cells: &mut [u8] = if 3 * (n + 1) <= stack.len() {
        &mut stack[..3 * (n + 1)]
    } else {
        heap.resize(3 * (n + 1), 0);
        &mut heap
    };
    let (mut before, rest) = cells.split_at_mut(n + 1);
    let (mut previous, mut row) = rest.split_at_mut(n + 1);
    previous.iter_mut().enumerate().for_each(|(j, cell)| *cell = j.min(usize::from(cap)) as u8);
    let mut last = None;
    for (i, t) in term.chars().enumerate().map(|(i, t)| (i + 1, t)) {
        row[0] = i.min(usize::from(cap)) as u8;
        let mut least = row[0];
        for j in 1..=n {
            let mut best = (previous[j - 1] + u8::from(word[j - 1] != t)).min(previous[j] + 1).min(row[j - 1] + 1);
            if j > 1 && Some(word[j - 1]) == last && word[j - 2] == t {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best.min(cap);
            least = least.min(row[j]);
        }
        if least > edits {
            return false;
        }
        last = Some(t);
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut row);
    }
    previous[n] <= edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use levenshtein_automata::LevenshteinAutomatonBuilder;

    /// Every string of `alphabet` up to `len` characters.
    fn strings(alphabet: &[char], len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// What the neighbourhoods find is exactly what tantivy's automaton (levenshtein_automata, transpositions
    /// costing one) accepts, for every pair of strings up to 5 characters over three letters, and words longer than
    /// the filed prefix, with 0, 1 and 2 edits; and so is each term's own list of neighbours, made when filed.
    #[test]
    fn finds_exactly_the_terms_the_levenshtein_automaton_accepts() {
        let mut terms = strings(&['a', 'b', 'c'], 5);
        terms.extend(
            ["abcabcab", "abcabcba", "bacabcab", "abcabcabcc", "cabcabca", "aabbccaabb", "é", "ée", "日本語", "日語"].map(String::from),
        );
        terms.retain(|t| !t.is_empty());
        terms.sort();
        // Terms of every length get each number of edits between them.
        let edits_for = |chars: usize| (chars % 3) as u8;
        let hoods = TermNeighbourhoods::new(&terms, edits_for);
        let mut words = strings(&['a', 'b', 'c', 'd'], 4);
        words.extend(
            ["abcabcab", "abcbacab", "abcabcabc", "abcabcaXb", "aabbccbabb", "e", "éé", "日本", "本語", "日本人語"].map(String::from),
        );
        let mut checked = 0;
        for edits in 0..=MAX_EDITS {
            let automata = LevenshteinAutomatonBuilder::new(edits, true);
            for word in &words {
                let dfa = automata.build_dfa(word);
                let expected: Vec<u32> =
                    terms.iter().enumerate().filter(|(_, t)| dfa.eval(t).to_u8() <= edits).map(|(ord, _)| ord as u32).collect();
                assert_eq!(hoods.within(word, edits), expected, "{word:?} within {edits}");
                checked += expected.len();
            }
        }
        assert!(checked > 10_000, "the cases find many terms: {checked}");
        let automata: Vec<_> = (0..=MAX_EDITS).map(|edits| LevenshteinAutomatonBuilder::new(edits, true)).collect();
        let mut near = 0;
        for (ord, term) in terms.iter().enumerate() {
            let edits = edits_for(term.chars().count());
            let dfa = automata[usize::from(edits)].build_dfa(term);
            let expected: Vec<u32> =
                terms.iter().enumerate().filter(|(_, t)| dfa.eval(t).to_u8() <= edits).map(|(ord, _)| ord as u32).collect();
            assert_eq!(hoods.near(ord as u32), expected, "{term:?}'s neighbours within {edits}");
            near += expected.len() - 1;
        }
        assert!(near > 10_000, "the terms have many neighbours: {near}");
    }

    /// `find` and `prefixed` answer as a scan of the sorted terms does, for every term, every prefix of one, and
    /// words that are not terms.
    #[test]
    fn finds_words_and_prefixes_as_a_scan_of_the_terms() {
        let mut terms = strings(&['a', 'b', 'c'], 4);
        terms.extend(["abcabcab", "abcabcaba", "abcabcac", "é", "ée", "日本語"].map(String::from));
        terms.retain(|t| !t.is_empty());
        terms.sort();
        let hoods = TermNeighbourhoods::new(&terms, |_| 0);
        assert_eq!(hoods.len(), terms.len());
        let mut asked: Vec<String> =
            terms.iter().flat_map(|t| t.char_indices().map(|(i, _)| t[..i].to_owned()).chain([t.clone()])).collect();
        asked.extend(["d", "abcd", "abcabca", "abcabcabx", "e", "日本", "本"].map(String::from));
        for word in &asked {
            let expected = terms.iter().position(|t| t == word).map(|ord| ord as u32);
            assert_eq!(hoods.find(word), expected, "find {word:?}");
            let first = terms.iter().position(|t| t.starts_with(word.as_str())).unwrap_or(terms.partition_point(|t| t < word));
            let count = terms.iter().filter(|t| t.starts_with(word.as_str())).count();
            assert_eq!(hoods.prefixed(word), first as u32..(first + count) as u32, "prefixed {word:?}");
            if let Some(ord) = expected {
                assert_eq!(hoods.term(ord), word);
            }
        }
    }
}
