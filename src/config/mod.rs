//! One run's configuration: plain serde data, parsed with `deny_unknown_fields`,
//! overridable with `--set a.b=c`, validated before anything is computed.
//! Every error names the file, the key (with its line where known) and what was expected.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod names;
pub use names::{ArchName, ParamName};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rope {
    /// Textbook interleaved RoPE: pairs (2i, 2i+1) rotated by t·10000^(-2i/d_head).
    #[default]
    Standard,
    /// The NVIDIA/ngpt function (not a rotation; kept only to check the golden `gpt/`, `ngpt/` folders).
    NvidiaReference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerKind {
    /// One token per distinct character of the corpus.
    #[default]
    Char,
    /// Byte-level BPE trained on the train split with the `tokenizers` crate.
    Bpe,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Residual width d.
    pub d_model: usize,
    /// Number of blocks L.
    pub n_layer: usize,
    /// Number of attention heads H (d_head = d_model / n_head).
    pub n_head: usize,
    /// Rotary embedding flavour.
    pub rope: Rope,
    /// Architecture-specific switches (nGPT / anGPT ablations). Ignored by GPT.
    pub norm: NormOptions,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { d_model: 128, n_layer: 4, n_head: 4, rope: Rope::Standard, norm: NormOptions::default() }
    }
}

/// Switches of the normalized architectures (nGPT paper's ablations, anGPT's factors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormOptions {
    /// Learn one α per block instead of a d-vector (nGPT Table 5).
    pub scalar_alpha: bool,
    /// Keep s_qk fixed at 1 (no learnable QK scale).
    pub fixed_sqk: bool,
    /// Keep s_u, s_ν fixed at 1.
    pub fixed_suv: bool,
    /// Drop the normalization of q and k (nGPT Table 6; anGPT "without QK-norm").
    pub no_qk_norm: bool,
    /// α_init (nGPT: 0.05). `None` = the parameterization's value.
    pub alpha_init: Option<f64>,
    /// α_scale (nGPT: 1/√d). `None` = the parameterization's value.
    pub alpha_scale: Option<f64>,
    /// s_z scale (nGPT: 1/√d; νGPT: 0.03). `None` = the parameterization's value.
    pub sz_scale: Option<f64>,
    /// nGPT: constrain weight vectors to norm ≤ 1 instead of = 1 (anGPT ladder rung).
    pub norm_at_most_one: bool,
    /// anGPT: use analytic ν factors instead of calibrating them at init.
    pub analytic_nu: bool,
    /// anGPT: keep GPT+'s exact QK-norm (true) or approximate it by a factor too (false).
    pub exact_qk_norm: bool,
}

impl Default for NormOptions {
    fn default() -> Self {
        Self {
            scalar_alpha: false,
            fixed_sqk: false,
            fixed_suv: false,
            no_qk_norm: false,
            alpha_init: None,
            alpha_scale: None,
            sz_scale: None,
            norm_at_most_one: false,
            analytic_nu: false,
            exact_qk_norm: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Any UTF-8 text file. Relative paths are resolved against the working directory.
    pub path: PathBuf,
    pub tokenizer: TokenizerKind,
    /// BPE vocabulary size (ignored for `char`).
    pub vocab_size: usize,
    /// Context length T.
    pub seq_len: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Number of fixed validation windows (≥ 64 so every run of a sweep sees the same tokens).
    pub val_seqs: usize,
    /// Where trained BPE tokenizers are cached, keyed by (corpus sha256, vocab size).
    pub cache_dir: PathBuf,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/kjv.txt"),
            tokenizer: TokenizerKind::Char,
            vocab_size: 1024,
            seq_len: 128,
            batch_size: 16,
            val_seqs: 64,
            cache_dir: PathBuf::from("results/cache"),
        }
    }
}

/// The learning-rate schedule after the linear warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Cosine from the peak to `min_lr_frac`·peak at the last step.
    #[default]
    Cosine,
    /// Warmup-stable-decay: the peak until the last `cooldown_frac` of the steps, then linear
    /// to `min_lr_frac`·peak. Runs of different lengths share their stable phase, so one run
    /// can branch off cool-downs at smaller budgets (`train.branches`).
    Wsd,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_default_cooldown(f: &f64) -> bool {
    *f == DEFAULT_COOLDOWN_FRAC
}

/// The first step of a WSD run's cool-down: `steps` less round(frac·steps), at least one step.
pub fn cooldown_start(steps: usize, frac: f64) -> usize {
    steps - ((frac * steps as f64).round() as usize).clamp(1, steps)
}

/// Hägele et al. 2024 ("Scaling laws and compute-optimal training beyond fixed training
/// durations") find a 20% cool-down matches cosine.
pub const DEFAULT_COOLDOWN_FRAC: f64 = 0.2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Peak learning rate.
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Adam ε, added after the square root of the bias-corrected v.
    pub eps: f64,
    /// Decoupled weight decay on ≥2-D tensors (1-D gains and rescalers get 0).
    pub weight_decay: f64,
    /// Global L2-norm gradient clipping threshold; 0 disables it.
    pub grad_clip: f64,
    /// Linear warm-up steps from 0.
    pub warmup_steps: usize,
    /// Cosine floor as a fraction of the peak (0 for nGPT, 0.1 for νGPT).
    pub min_lr_frac: f64,
    /// Left out of the canonical TOML at their defaults (cosine, 0.2), so the run ids of
    /// configs written before WSD existed are unchanged.
    #[serde(skip_serializing_if = "is_default")]
    pub schedule: ScheduleKind,
    /// WSD only: the fraction of a run's steps spent in the linear cool-down.
    #[serde(skip_serializing_if = "is_default_cooldown")]
    pub cooldown_frac: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            grad_clip: 1.0,
            warmup_steps: 100,
            min_lr_frac: 0.0,
            schedule: ScheduleKind::Cosine,
            cooldown_frac: DEFAULT_COOLDOWN_FRAC,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Optimizer steps (the token horizon is steps × batch × seq_len).
    pub steps: usize,
    /// Validation every this many steps (and at the end).
    pub eval_every: usize,
    /// Save a resumable checkpoint every this many steps (0 = only at the end / on signals).
    pub checkpoint_every: usize,
    /// Stop and record `diverged` when the train loss exceeds this (or is not finite).
    pub diverge_loss: f64,
    /// Measure alignment exponents α̂, ω̂, ν̂ every this many steps on a fixed batch (0 = off).
    pub alignment_every: usize,
    /// Flush subnormal floats to zero (FTZ+DAZ) in every computing thread. Left out of the
    /// canonical TOML while on, so run ids of configs written before the switch are unchanged.
    #[serde(skip_serializing_if = "is_true")]
    pub flush_denormals: bool,
    /// WSD only: smaller budgets (steps) at which a cool-down branch leaves the stable phase;
    /// each branch's final validation loss is the loss of a separate WSD run of that many
    /// steps (bit for bit), recorded in summary.json and as its own row by `sweep merge`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<usize>,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 1000,
            eval_every: 100,
            checkpoint_every: 250,
            diverge_loss: 20.0,
            alignment_every: 0,
            flush_denormals: true,
            branches: Vec::new(),
        }
    }
}

/// The parameterization and the base shape it scales from: `param = "mup"`, or a table
/// `[param] name = "nugpt", base_width = 64, base_depth = 4, base_steps = 500`.
/// (In sweeps vary `param.name`, so the base shape of the base experiment is kept.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamConfig {
    pub name: ParamName,
    /// d_model of the base (proxy) model: m_width = d_model / base_width.
    pub base_width: usize,
    /// n_layer of the base model: m_depth = n_layer / base_depth.
    pub base_depth: usize,
    /// Steps of the base run: m_data = steps / base_steps.
    pub base_steps: usize,
    /// Heads of the base model; unset = same head dimension as this run (widening by heads).
    pub base_heads: Option<usize>,
    /// Apply the token-horizon factor m_data = steps / base_steps (false: m_data = 1).
    pub scale_horizon: bool,
    /// μP readout form: "multiplier" (mup package: forward ×1/m) or "init" (TP-V: init ∝ 1/m, LR/m).
    pub mup_readout: String,
}

impl Default for ParamConfig {
    fn default() -> Self {
        Self {
            name: ParamName::Sp,
            base_width: 64,
            base_depth: 4,
            base_steps: 500,
            base_heads: None,
            scale_horizon: true,
            mup_readout: "multiplier".into(),
        }
    }
}

fn param_config<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<ParamConfig, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = ParamConfig;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            let names: Vec<String> = ParamName::ALL.iter().map(|p| format!("\"{p}\"")).collect();
            write!(f, "a parameterization name ({}) or a [param] table", names.join(", "))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<ParamConfig, E> {
            let name = ParamName::deserialize(serde::de::value::StrDeserializer::<E>::new(v))?;
            Ok(ParamConfig { name, ..Default::default() })
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(self, m: M) -> std::result::Result<ParamConfig, M::Error> {
            ParamConfig::deserialize(serde::de::value::MapAccessDeserializer::new(m))
        }
    }
    d.deserialize_any(V)
}

/// A fully specified training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Free-form label (used in the run directory name).
    #[serde(default = "default_name")]
    pub name: String,
    pub arch: ArchName,
    #[serde(default, deserialize_with = "param_config")]
    pub param: ParamConfig,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub optim: OptimConfig,
    #[serde(default)]
    pub train: TrainConfig,
}

fn default_name() -> String {
    "run".into()
}
fn default_seed() -> u64 {
    1337
}

impl RunConfig {
    /// Read a TOML file, apply `--set key=value` overrides, validate the result.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read config file", path.display()))?;
        Self::from_toml_str(&text, &path.display().to_string(), overrides)
    }

    /// Parse `text` (named `origin` in errors). Type and unknown-key errors carry TOML's line/column.
    pub fn from_toml_str(text: &str, origin: &str, overrides: &[String]) -> Result<Self> {
        let parsed: RunConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let cfg = if overrides.is_empty() {
            parsed
        } else {
            let mut table: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
            for ov in overrides {
                apply_override(&mut table, ov)?;
            }
            let value = toml::Value::Table(table);
            RunConfig::deserialize(value).map_err(|e| anyhow::anyhow!("{origin} with --set {}: {e}", overrides.join(" --set ")))?
        };
        cfg.validate().map_err(|e| locate(e, text, origin))?;
        Ok(cfg)
    }

    /// Checks that do not need the corpus. Errors are `ConfigError`s so they can be located.
    pub fn validate(&self) -> std::result::Result<(), ConfigError> {
        let m = &self.model;
        let err = |key: &str, msg: String| Err(ConfigError { key: key.into(), msg });
        if m.d_model == 0 || m.n_head == 0 || m.n_layer == 0 {
            return err("model.d_model", "d_model, n_head and n_layer must be positive".into());
        }
        if !m.d_model.is_multiple_of(m.n_head) {
            return err("model.n_head", format!("expected n_head to divide d_model, got d_model = {} and n_head = {}", m.d_model, m.n_head));
        }
        if !(m.d_model / m.n_head).is_multiple_of(2) {
            return err("model.n_head", format!("RoPE needs an even head dimension, got d_head = {}", m.d_model / m.n_head));
        }
        if self.data.seq_len < 2 {
            return err("data.seq_len", "expected seq_len ≥ 2".into());
        }
        if self.data.batch_size == 0 {
            return err("data.batch_size", "expected batch_size ≥ 1".into());
        }
        if self.data.val_seqs == 0 {
            return err("data.val_seqs", "expected val_seqs ≥ 1".into());
        }
        if self.data.tokenizer == TokenizerKind::Bpe && self.data.vocab_size < 257 {
            return err("data.vocab_size", format!("byte-level BPE needs vocab_size > 256, got {}", self.data.vocab_size));
        }
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return err("optim.lr", format!("expected a positive learning rate, got {}", o.lr));
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) {
            return err("optim.beta1", "expected 0 ≤ beta1, beta2 < 1".into());
        }
        if !(0.0..=1.0).contains(&o.min_lr_frac) {
            return err("optim.min_lr_frac", format!("expected a fraction in [0, 1], got {}", o.min_lr_frac));
        }
        let p = &self.param;
        if p.base_width == 0 || p.base_depth == 0 || p.base_steps == 0 {
            return err("param.base_width", "base_width, base_depth and base_steps must be positive".into());
        }
        if p.mup_readout != "multiplier" && p.mup_readout != "init" {
            return err("param.mup_readout", format!("expected \"multiplier\" or \"init\", got \"{}\"", p.mup_readout));
        }
        if self.train.steps == 0 {
            return err("train.steps", "expected steps ≥ 1".into());
        }
        if self.train.eval_every == 0 {
            return err("train.eval_every", "expected eval_every ≥ 1".into());
        }
        if !(o.cooldown_frac > 0.0 && o.cooldown_frac <= 1.0) {
            return err("optim.cooldown_frac", format!("expected a fraction in (0, 1], got {}", o.cooldown_frac));
        }
        let b = &self.train.branches;
        if !b.is_empty() && o.schedule != ScheduleKind::Wsd {
            return err(
                "train.branches",
                "cool-down branches need optim.schedule = \"wsd\" (a cosine run has no stable phase to branch from)".into(),
            );
        }
        if !b.windows(2).all(|w| w[0] < w[1]) {
            return err("train.branches", format!("expected strictly increasing budgets, got {b:?}"));
        }
        for &budget in b {
            if budget >= self.train.steps {
                return err("train.branches", format!("expected every branch below train.steps = {}, got {budget}", self.train.steps));
            }
            if cooldown_start(budget, o.cooldown_frac) < o.warmup_steps {
                return err(
                    "train.branches",
                    format!(
                        "the branch at {budget} steps would start its cool-down inside the {}-step warm-up; expected a larger budget",
                        o.warmup_steps
                    ),
                );
            }
        }
        Ok(())
    }

    /// Canonical TOML of the fully resolved config (what a run directory stores).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a RunConfig always serializes")
    }

    /// Optimizer steps the run takes: its own plus its cool-down branches'.
    pub fn optimizer_steps(&self) -> usize {
        let f = self.optim.cooldown_frac;
        self.train.steps + self.train.branches.iter().map(|&b| b - cooldown_start(b, f)).sum::<usize>()
    }

    pub fn d_head(&self) -> usize {
        self.model.d_model / self.model.n_head
    }
}

/// A validation error tied to a dotted key.
#[derive(Debug)]
pub struct ConfigError {
    pub key: String,
    pub msg: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.key, self.msg)
    }
}

/// Turn a `ConfigError` into a message naming the file, the key and its line (when the key is in the text).
pub fn locate(e: ConfigError, text: &str, origin: &str) -> anyhow::Error {
    match key_line(text, &e.key) {
        Some(line) => anyhow::anyhow!("{origin}:{line}: {e}"),
        None => anyhow::anyhow!("{origin}: {e}"),
    }
}

/// Line (1-based) where dotted `key` ("section.field") is assigned in a TOML text.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let (section, field) = match key.rsplit_once('.') {
        Some((s, f)) => (s, f),
        None => ("", key),
    };
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = line.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let Some((lhs, _)) = line.split_once('=') else { continue };
        let lhs = lhs.trim();
        let full = if current.is_empty() { lhs.to_string() } else { format!("{current}.{lhs}") };
        if full == key || (current == section && lhs == field) {
            return Some(i + 1);
        }
    }
    None
}

/// Apply one `a.b.c=value` override to a TOML table. The value is parsed as TOML
/// (number, bool, string, array), falling back to a bare string.
pub fn apply_override(table: &mut toml::Table, ov: &str) -> Result<()> {
    let Some((key, raw)) = ov.split_once('=') else {
        bail!("--set {ov}: expected key=value (e.g. --set optim.lr=3e-3)");
    };
    let value = parse_value(raw.trim());
    set_dotted(table, key.trim(), value).with_context(|| format!("--set {ov}"))
}

pub fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

pub fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(tt) => tt,
            _ => bail!("`{p}` is not a table"),
        };
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}
