//! Tokenizers: one token per distinct character, or byte-level BPE trained on the train split
//! (cached on disk by corpus sha256 + vocabulary size).

use super::corpus::Corpus;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, TokenizerBuilder, TokenizerImpl};

type Bpe = TokenizerImpl<BPE, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>;

/// Character-level or byte-level BPE tokenizer.
pub enum Tokenizer {
    Char { chars: Vec<char>, index: BTreeMap<char, u32> },
    Bpe(Box<tokenizers::Tokenizer>),
}

impl Tokenizer {
    /// One id per distinct character of the whole corpus, in sorted order (nanoGPT's convention).
    pub fn char_level(text: &str) -> Self {
        let mut chars: Vec<char> = text.chars().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        chars.sort();
        let index = chars.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
        Tokenizer::Char { chars, index }
    }

    /// Byte-level BPE trained on the corpus' train split, cached as
    /// `<cache_dir>/tokenizers/<sha256>-bpe<vocab>.json` so it is trained once.
    pub fn bpe_cached(corpus: &Corpus, vocab: usize, cache_dir: &Path) -> Result<Self> {
        let dir = cache_dir.join("tokenizers");
        let file = dir.join(format!("{}-bpe{vocab}.json", corpus.sha256));
        if file.exists() {
            let tk = tokenizers::Tokenizer::from_file(&file).map_err(|e| {
                anyhow::anyhow!("corrupt tokenizer cache {}: {e}; expected a tokenizers JSON file (delete it to retrain)", file.display())
            })?;
            if tk.get_vocab_size(true) == 0 {
                bail!("corrupt tokenizer cache {}: empty vocabulary (delete it to retrain)", file.display());
            }
            return Ok(Tokenizer::Bpe(Box::new(tk)));
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (train_text, _) = corpus.split(0.9);
        let tmp_text = dir.join(format!(".{}-train.txt", corpus.sha256));
        std::fs::write(&tmp_text, train_text)?;
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(vocab)
            .min_frequency(0)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let mut tk: Bpe = TokenizerBuilder::new()
            .with_model(BPE::default())
            .with_normalizer(None)
            .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false).into()))
            .with_post_processor(None)
            .with_decoder(Some(ByteLevel::default().add_prefix_space(false).into()))
            .build()
            .map_err(|e| anyhow::anyhow!("building BPE tokenizer: {e}"))?;
        tk.train_from_files(&mut trainer, vec![tmp_text.display().to_string()])
            .map_err(|e| anyhow::anyhow!("training BPE tokenizer on {}: {e}", corpus.path.display()))?;
        let _ = std::fs::remove_file(&tmp_text);
        let tmp = file.with_extension("json.tmp");
        tk.save(&tmp, false).map_err(|e| anyhow::anyhow!("saving tokenizer {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &file)?;
        let tk = tokenizers::Tokenizer::from_file(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        Ok(Tokenizer::Bpe(Box::new(tk)))
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::Char { chars, .. } => chars.len(),
            Tokenizer::Bpe(tk) => tk.get_vocab_size(true),
        }
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Tokenizer::Char { index, .. } => {
                text.chars().map(|c| index.get(&c).copied().ok_or_else(|| anyhow::anyhow!("character {c:?} not in the vocabulary"))).collect()
            }
            Tokenizer::Bpe(tk) => Ok(tk.encode(text, false).map_err(|e| anyhow::anyhow!("BPE encode: {e}"))?.get_ids().to_vec()),
        }
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        match self {
            Tokenizer::Char { chars, .. } => ids.iter().map(|&i| chars[i as usize]).collect(),
            Tokenizer::Bpe(tk) => tk.decode(ids, false).unwrap_or_default(),
        }
    }
}
