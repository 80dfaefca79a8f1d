//! TensorBoard event files, written while a run trains: `<run>/tb/events.out.tfevents.*` with
//! one scalar per metrics column and the HParams session, and at a sweep's root the HParams
//! experiment, so `tensorboard --logdir results/sweeps/<name>` shows curves and the run table.
//! Hand-written: TFRecord framing (u64 length, masked CRC32-C of it, data, masked CRC32-C of
//! the data) around Event protobufs encoded with the tiny field writer below.

use super::{Metrics, Status, atomic_write};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Directory of a run's event files.
pub fn tb_dir(run: &Path) -> PathBuf {
    run.join("tb")
}

/// The swept keys of a run, written by the sweep runner for the run's HParams session.
pub fn hparams_path(run: &Path) -> PathBuf {
    run.join("hparams.json")
}

/// TFRecord's CRC mask (so a CRC of data that itself holds CRCs is not trivially related).
pub fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord around `data`.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// A protobuf message under construction (fields in any order, as the format allows).
#[derive(Default)]
pub struct Pb(pub Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    pub fn uint(mut self, field: u32, v: u64) -> Self {
        self.key(field, 0);
        self.varint(v);
        self
    }
    pub fn double(mut self, field: u32, v: f64) -> Self {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(mut self, field: u32, b: &[u8]) -> Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub fn str(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }
    pub fn msg(self, field: u32, m: Pb) -> Self {
        self.bytes(field, &m.0)
    }
}

pub fn now_s() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Event{wall_time = 1, step = 2, file_version = 3 | summary = 5}.
fn event(step: u64, body: impl FnOnce(Pb) -> Pb) -> Vec<u8> {
    body(Pb::default().double(1, now_s()).uint(2, step)).0
}

/// Summary.Value{tag = 1, simple_value = 2}.
fn scalar_value(tag: &str, v: f32) -> Pb {
    Pb::default().str(1, tag).float(2, v)
}

/// Summary.Value{tag, metadata = 9 {plugin_data{plugin_name "hparams", content}}, tensor = 8};
/// the tensor is the float 0 the hparams plugin stores (its readers list tensors).
fn hparams_value(tag: &str, content: Pb) -> Pb {
    let plugin = Pb::default().str(1, "hparams").msg(2, content);
    let tensor = Pb::default().uint(1, 1).msg(2, Pb::default()).bytes(5, &0f32.to_le_bytes());
    Pb::default().str(1, tag).msg(9, Pb::default().msg(1, plugin)).msg(8, tensor)
}

/// google.protobuf.Value of a TOML value (number_value 2, string_value 3, bool_value 4).
fn pb_value(v: &toml::Value) -> Pb {
    match v {
        toml::Value::Integer(i) => Pb::default().double(2, *i as f64),
        toml::Value::Float(f) => Pb::default().double(2, *f),
        toml::Value::Boolean(b) => Pb::default().uint(4, *b as u64),
        toml::Value::String(s) => Pb::default().str(3, s),
        other => Pb::default().str(3, &other.to_string()),
    }
}

/// The metrics each HParams session reports (scalar tags written at the end of a run).
pub const HPARAM_METRICS: [&str; 2] = ["hparams/final_val_loss", "hparams/best_val_loss"];

/// Scalar tag of a metrics.parquet column.
pub fn tag_of(column: &str) -> String {
    match column {
        "train_loss" => "train/loss".into(),
        "val_loss" => "val/loss".into(),
        "lr" => "train/lr".into(),
        "grad_norm" => "train/grad_norm".into(),
        other => match other.strip_prefix("diag.") {
            Some(d) => format!("diag/{d}"),
            None => other.into(),
        },
    }
}

/// Appends events to one file; every failure disables it with one warning (a run never
/// stops because TensorBoard logging could not be written).
pub struct EventWriter {
    file: Option<BufWriter<File>>,
    path: PathBuf,
    unflushed: usize,
    /// Flush after this many steps' events.
    pub flush_every: usize,
}

impl EventWriter {
    /// A new event file in `dir` (created), starting with the file_version event.
    pub fn create(dir: &Path) -> Self {
        let host = super::provenance::hostname();
        let name = format!("events.out.tfevents.{}.{host}.{}", now_s() as u64, std::process::id());
        let path = dir.join(name);
        let file = std::fs::create_dir_all(dir).and_then(|_| File::create(&path));
        let mut w = Self { file: None, path, unflushed: 0, flush_every: 10 };
        match file {
            Ok(f) => {
                w.file = Some(BufWriter::new(f));
                w.write(&event(0, |e| e.str(3, "brain.Event:2")));
                w.flush();
            }
            Err(e) => w.warn(&e),
        }
        w
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    fn warn(&self, e: &std::io::Error) {
        eprintln!("warning: TensorBoard events disabled for this run: cannot write {}: {e}", self.path.display());
    }

    fn write(&mut self, ev: &[u8]) {
        let Some(f) = &mut self.file else { return };
        if let Err(e) = f.write_all(&frame(ev)) {
            self.warn(&e);
            self.file = None;
        }
    }

    pub fn flush(&mut self) {
        let Some(f) = &mut self.file else { return };
        self.unflushed = 0;
        if let Err(e) = f.flush() {
            self.warn(&e);
            self.file = None;
        }
    }

    pub fn scalars(&mut self, step: u64, values: &[(String, f32)]) {
        if self.file.is_none() || values.is_empty() {
            return;
        }
        let summary = values.iter().fold(Pb::default(), |s, (tag, v)| s.msg(1, scalar_value(tag, *v)));
        self.write(&event(step, |e| e.msg(5, summary)));
    }

    /// Every value of metrics row `row` (nulls skipped) plus tokens/s, at the row's step;
    /// flushes every `flush_every` steps.
    pub fn metrics_row(&mut self, m: &Metrics, row: usize, tokens_per_s: f64) {
        if self.file.is_none() || row >= m.len() {
            return;
        }
        let mut v = vec![
            (tag_of("train_loss"), m.train_loss[row]),
            (tag_of("lr"), m.lr[row] as f32),
            (tag_of("grad_norm"), m.grad_norm[row]),
            ("perf/tokens_per_s".to_string(), tokens_per_s as f32),
        ];
        if let Some(val) = m.val_loss[row] {
            v.push((tag_of("val_loss"), val));
        }
        for (name, col) in &m.diag {
            if let Some(x) = col[row] {
                v.push((tag_of(&format!("diag.{name}")), x as f32));
            }
        }
        self.scalars(m.step[row] as u64, &v);
        self.unflushed += 1;
        if self.unflushed >= self.flush_every.max(1) {
            self.flush();
        }
    }

    /// A SessionLog START at `step` (Event.session_log = 7 {status = 1: START}): TensorBoard
    /// then drops every event at or after `step` from earlier files, i.e. what a killed run had
    /// logged past the checkpoint it resumes from. Then HParamsPluginData{version 0,
    /// session_start_info = 3 {hparams = 1 (map), group_name = 4, start_time_secs = 5}}.
    pub fn session_start(&mut self, hparams: &[(String, toml::Value)], group: &str, step: u64) {
        self.write(&event(step, |e| e.msg(7, Pb::default().uint(1, 1))));
        let info = hparams.iter().fold(Pb::default(), |info, (k, v)| info.msg(1, Pb::default().str(1, k).msg(2, pb_value(v))));
        let info = info.str(4, group).double(5, now_s());
        let data = Pb::default().uint(1, 0).msg(3, info);
        self.write(&event(0, |e| e.msg(5, Pb::default().msg(1, hparams_value("_hparams_/session_start_info", data)))));
        self.flush();
    }

    /// The HParams metrics and session_end_info = 4 {status = 1, end_time_secs = 2}. Not for an
    /// interrupted run: TensorBoard keeps the first session_end_info it reads, and the run resumes.
    pub fn session_end(&mut self, step: u64, status: Status, final_val: Option<f64>, best_val: Option<f64>) {
        if status == Status::Interrupted {
            self.flush();
            return;
        }
        let metrics: Vec<(String, f32)> =
            HPARAM_METRICS.iter().zip([final_val, best_val]).filter_map(|(t, v)| v.map(|v| (t.to_string(), v as f32))).collect();
        self.scalars(step, &metrics);
        // api.proto Status: 1 success, 2 failure.
        let code = if status == Status::Done { 1 } else { 2 };
        let data = Pb::default().uint(1, 0).msg(4, Pb::default().uint(1, code).double(2, now_s()));
        self.write(&event(step, |e| e.msg(5, Pb::default().msg(1, hparams_value("_hparams_/session_end_info", data)))));
        self.flush();
    }
}

/// The HParams experiment of a sweep (every swept key with its values, the two loss metrics),
/// in `<out>/tb/` under a fixed file name, rewritten whole on every start of the sweep.
pub fn write_experiment(out: &Path, name: &str, points: &[Vec<(String, toml::Value)>]) -> anyhow::Result<()> {
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in points.iter().flatten() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let mut exp = Pb::default().str(6, name).double(3, now_s());
    for k in &keys {
        let mut values: Vec<&toml::Value> = Vec::new();
        for (_, v) in points.iter().flatten().filter(|(kk, _)| kk == k) {
            if !values.contains(&v) {
                values.push(v);
            }
        }
        // api.proto DataType: 1 string, 2 bool, 3 float64.
        let ty = match values.first() {
            Some(toml::Value::Integer(_) | toml::Value::Float(_)) => 3,
            Some(toml::Value::Boolean(_)) => 2,
            _ => 1,
        };
        let domain = values.iter().fold(Pb::default(), |l, v| l.msg(1, pb_value(v)));
        exp = exp.msg(4, Pb::default().str(1, k).uint(4, ty).msg(5, domain).uint(7, (values.len() > 1) as u64));
    }
    for m in HPARAM_METRICS {
        // MetricInfo{name = 1 {group = 1, tag = 2}}; the group is the session's own run.
        exp = exp.msg(5, Pb::default().msg(1, Pb::default().str(2, m)));
    }
    let data = Pb::default().uint(1, 0).msg(2, exp);
    let mut bytes = frame(&event(0, |e| e.str(3, "brain.Event:2")));
    bytes.extend(frame(&event(0, |e| e.msg(5, Pb::default().msg(1, hparams_value("_hparams_/experiment", data))))));
    let dir = tb_dir(out);
    std::fs::create_dir_all(&dir)?;
    atomic_write(&dir.join("events.out.tfevents.0.normlab-experiment"), &bytes)
}

/// Keys a run outside a sweep reports as hparams (a sweep's runs report their swept keys).
const DEFAULT_HPARAMS: [&str; 8] = ["arch", "param.name", "optim.lr", "model.d_model", "model.n_layer", "data.seq_len", "train.steps", "seed"];

/// Record a sweep run's swept keys for its HParams session.
pub fn write_run_hparams(run: &Path, varying: &[(String, toml::Value)]) -> anyhow::Result<()> {
    atomic_write(&hparams_path(run), serde_json::to_string(varying)?.as_bytes())
}

/// The hparams of a run: its swept keys when a sweep wrote them, else [`DEFAULT_HPARAMS`]
/// taken from `config_toml` (the run's resolved config).
pub fn run_hparams(run: &Path, config_toml: &str) -> anyhow::Result<Vec<(String, toml::Value)>> {
    let path = hparams_path(run);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: expected [[key, value], ...]: {e}", path.display()));
    }
    let table: toml::Table = toml::from_str(config_toml)?;
    Ok(DEFAULT_HPARAMS
        .iter()
        .filter_map(|k| {
            let mut cur = &table;
            let parts: Vec<&str> = k.split('.').collect();
            for p in &parts[..parts.len() - 1] {
                cur = cur.get(*p)?.as_table()?;
            }
            Some((k.to_string(), cur.get(parts[parts.len() - 1])?.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vectors() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c::crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8A91_36AA);
        // tensorboard's own masked_crc32c(b"123456789") (tensorflow_stub.pywrap_tensorflow).
        assert_eq!(masked_crc(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn framing_is_length_crc_data_crc() {
        let data = b"hello events";
        let f = frame(data);
        assert_eq!(f.len(), 8 + 4 + data.len() + 4);
        assert_eq!(u64::from_le_bytes(f[0..8].try_into().unwrap()), data.len() as u64);
        assert_eq!(u32::from_le_bytes(f[8..12].try_into().unwrap()), masked_crc(&f[0..8]));
        assert_eq!(&f[12..12 + data.len()], data);
        assert_eq!(u32::from_le_bytes(f[12 + data.len()..].try_into().unwrap()), masked_crc(data));
    }

    #[test]
    fn protobuf_fields_encode_as_the_wire_format() {
        // Field 1 varint 150 is the protobuf docs' example: 08 96 01.
        assert_eq!(Pb::default().uint(1, 150).0, [0x08, 0x96, 0x01]);
        assert_eq!(Pb::default().str(2, "testing").0, [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        assert_eq!(Pb::default().float(2, 1.0).0, [0x15, 0, 0, 0x80, 0x3f]);
        assert_eq!(Pb::default().double(1, 1.0).0, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    }

    #[test]
    fn unwritable_directory_disables_the_writer() {
        let root = std::env::temp_dir().join(format!("normlab-tb-unwritable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        // A file where the directory should be: fails even for root.
        std::fs::write(root.join("tb"), b"").unwrap();
        let mut w = EventWriter::create(&tb_dir(&root));
        assert!(!w.enabled());
        w.scalars(1, &[("x".into(), 1.0)]);
        w.flush();
        assert!(!w.enabled());
        let _ = std::fs::remove_dir_all(&root);
    }
}
