//! The corpus file: read, checksum (sha256, which keys the tokenizer cache) and the 90/10
//! character split into train and validation text.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A UTF-8 text file and its sha256.
pub struct Corpus {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
}

impl Corpus {
    pub fn load(path: &Path, origin: &str) -> Result<Self> {
        if !path.exists() {
            bail!("{origin}: `data.path` = \"{}\": corpus file not found (expected a UTF-8 text file)", path.display());
        }
        let bytes = std::fs::read(path).with_context(|| format!("{origin}: `data.path`: cannot read {}", path.display()))?;
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{origin}: `data.path` = \"{}\" is not UTF-8 text ({e})", path.display()))?;
        if text.is_empty() {
            bail!("{origin}: `data.path` = \"{}\" is empty", path.display());
        }
        Ok(Self { path: path.to_path_buf(), text, sha256 })
    }

    /// First `frac` of the characters (not bytes) for training, the rest for validation.
    pub fn split(&self, frac: f64) -> (&str, &str) {
        let n_chars = self.text.chars().count();
        let cut = (n_chars as f64 * frac) as usize;
        let byte = self.text.char_indices().nth(cut).map(|(b, _)| b).unwrap_or(self.text.len());
        self.text.split_at(byte)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
