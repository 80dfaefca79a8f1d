//! Corpus → tokens → batches. Batches are a pure function of (seed, step), so a
//! resumed run sees exactly the batches an uninterrupted one would.

mod corpus;
mod tokenizer;

pub use corpus::{Corpus, sha256_hex};
pub use tokenizer::Tokenizer;

use crate::config::{DataConfig, TokenizerKind};
use anyhow::{Result, bail};
use rand::{Rng, SeedableRng, rngs::SmallRng};

/// Tokenized train and validation splits plus the tokenizer that made them.
pub struct Dataset {
    pub tokenizer: Tokenizer,
    pub train: Vec<u32>,
    pub val: Vec<u32>,
    pub seq_len: usize,
    pub batch_size: usize,
    /// Start offsets of the fixed validation windows.
    pub val_starts: Vec<usize>,
}

/// One batch of windows: inputs and next-token targets, row-major [batch, seq_len].
pub struct Batch {
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    pub batch: usize,
    pub seq_len: usize,
}

impl Dataset {
    /// Load, split (first 90% of characters train), tokenize, and check the windows fit.
    pub fn load(cfg: &DataConfig, origin: &str) -> Result<Self> {
        let corpus = Corpus::load(&cfg.path, origin)?;
        let tokenizer = match cfg.tokenizer {
            TokenizerKind::Char => Tokenizer::char_level(&corpus.text),
            TokenizerKind::Bpe => Tokenizer::bpe_cached(&corpus, cfg.vocab_size, &cfg.cache_dir)?,
        };
        let (train_text, val_text) = corpus.split(0.9);
        let train = tokenizer.encode(train_text)?;
        let val = tokenizer.encode(val_text)?;
        Self::from_tokens(tokenizer, train, val, cfg, origin)
    }

    pub fn from_tokens(tokenizer: Tokenizer, train: Vec<u32>, val: Vec<u32>, cfg: &DataConfig, origin: &str) -> Result<Self> {
        let window = cfg.seq_len + 1;
        if val.len() < window {
            bail!(
                "{origin}: `data.seq_len` = {} is longer than the validation split ({} tokens of {}); expected seq_len ≤ {}",
                cfg.seq_len,
                val.len(),
                cfg.path.display(),
                val.len().saturating_sub(1)
            );
        }
        if train.len() < window {
            bail!("{origin}: `data.seq_len` = {} is longer than the train split ({} tokens)", cfg.seq_len, train.len());
        }
        // Evenly spaced windows: deterministic, and identical for every run with the same tokens and T.
        let span = val.len() - window;
        let n = cfg.val_seqs;
        let val_starts = (0..n).map(|i| if n == 1 { 0 } else { i * span / (n - 1) }).collect();
        Ok(Self { tokenizer, train, val, seq_len: cfg.seq_len, batch_size: cfg.batch_size, val_starts })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    /// The training batch of `step`: random contiguous windows from an RNG seeded by (seed, step).
    pub fn train_batch(&self, seed: u64, step: usize) -> Batch {
        let mut rng = SmallRng::seed_from_u64(splitmix(seed ^ splitmix(step as u64 + 1)));
        let max_start = self.train.len() - self.seq_len - 1;
        let starts: Vec<usize> = (0..self.batch_size).map(|_| rng.random_range(0..=max_start)).collect();
        self.windows(&self.train, &starts, self.seq_len)
    }

    /// Fixed validation windows, in chunks of at most `batch_size`.
    pub fn val_batches(&self) -> Vec<Batch> {
        self.val_batches_at(self.seq_len)
    }

    /// Validation windows at another context length (length extrapolation), as many as fit.
    pub fn val_batches_at(&self, seq_len: usize) -> Vec<Batch> {
        let window = seq_len + 1;
        if self.val.len() < window {
            return vec![];
        }
        let span = self.val.len() - window;
        let n = self.val_starts.len();
        let starts: Vec<usize> =
            if seq_len == self.seq_len { self.val_starts.clone() } else { (0..n).map(|i| if n == 1 { 0 } else { i * span / (n - 1) }).collect() };
        starts.chunks(self.batch_size.max(1)).map(|c| self.windows(&self.val, c, seq_len)).collect()
    }

    fn windows(&self, tokens: &[u32], starts: &[usize], seq_len: usize) -> Batch {
        let mut inputs = Vec::with_capacity(starts.len() * seq_len);
        let mut targets = Vec::with_capacity(starts.len() * seq_len);
        for &s in starts {
            inputs.extend(tokens[s..s + seq_len].iter().map(|&t| t as i64));
            targets.extend(tokens[s + 1..s + seq_len + 1].iter().map(|&t| t as i64));
        }
        Batch { inputs, targets, batch: starts.len(), seq_len }
    }
}

/// SplitMix64 finalizer: decorrelates (seed, step) pairs.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}
