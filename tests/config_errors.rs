//! Every bad-config case gives one error naming the file, the key (with its line where
//! available) and what was expected — before any training starts.

mod common;
use normlab::config::RunConfig;
use normlab::data::Dataset;

fn write(tag: &str, text: &str) -> std::path::PathBuf {
    let dir = common::tmpdir(tag);
    let p = dir.join("exp.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn load_err(tag: &str, text: &str) -> String {
    let p = write(tag, text);
    let e = RunConfig::load(&p, &[]).and_then(|c| Dataset::load(&c.data, &p.display().to_string()).map(|_| ()));
    format!("{:#}", e.expect_err("config should be rejected"))
}

const GOOD: &str = "arch = \"gpt\"\n[model]\nd_model = 64\nn_head = 4\n[data]\npath = \"data/kjv.txt\"\n";

#[test]
fn unknown_key_names_file_line_and_expected_keys() {
    let msg = load_err("unknown", "arch = \"gpt\"\n[model]\nd_model = 64\nn_heads = 4\n");
    assert!(msg.contains("exp.toml"), "{msg}");
    assert!(msg.contains("line 4"), "{msg}");
    assert!(msg.contains("n_heads") && msg.contains("n_head"), "{msg}");
}

#[test]
fn wrong_type_names_key_and_expected_type() {
    let msg = load_err("type", "arch = \"gpt\"\n[optim]\nlr = \"fast\"\n");
    assert!(msg.contains("exp.toml") && msg.contains("line 3"), "{msg}");
    assert!(msg.contains("lr") || msg.contains("f64") || msg.contains("float"), "{msg}");
}

#[test]
fn unknown_arch_lists_choices() {
    let msg = load_err("arch", "arch = \"mamba\"\n");
    assert!(msg.contains("exp.toml") && msg.contains("mamba") && msg.contains("ngpt"), "{msg}");
}

#[test]
fn d_model_not_divisible_by_heads() {
    let msg = load_err("div", "arch = \"gpt\"\n[model]\nd_model = 64\nn_head = 5\n");
    assert!(msg.contains("exp.toml:4"), "{msg}");
    assert!(msg.contains("model.n_head") && msg.contains("divide d_model"), "{msg}");
}

#[test]
fn seq_len_longer_than_validation_split() {
    let dir = common::tmpdir("short");
    let corpus = dir.join("small.txt");
    std::fs::write(&corpus, "abcdefghij".repeat(100)).unwrap(); // 1000 chars → 100 val chars
    let msg = load_err("seqlen", &format!("arch = \"gpt\"\n[data]\npath = \"{}\"\nseq_len = 128\n", corpus.display()));
    assert!(msg.contains("exp.toml") && msg.contains("data.seq_len"), "{msg}");
    assert!(msg.contains("validation split") && msg.contains("100 tokens"), "{msg}");
}

#[test]
fn missing_corpus_file() {
    let msg = load_err("missing", "arch = \"gpt\"\n[data]\npath = \"no/such/corpus.txt\"\n");
    assert!(msg.contains("exp.toml") && msg.contains("data.path") && msg.contains("no/such/corpus.txt"), "{msg}");
    assert!(msg.contains("not found"), "{msg}");
}

#[test]
fn corrupt_tokenizer_cache() {
    let dir = common::tmpdir("corrupt");
    let tk = dir.join("tokenizers");
    std::fs::create_dir_all(&tk).unwrap();
    let sha = "a26264076eedfef0d541471bda9e2768d84993069c10694c0298fa402d1810e7";
    std::fs::write(tk.join(format!("{sha}-bpe300.json")), "{ not json").unwrap();
    let text = format!(
        "arch = \"gpt\"\n[data]\npath = \"{}\"\ntokenizer = \"bpe\"\nvocab_size = 300\ncache_dir = \"{}\"\n",
        common::root().join("data/kjv.txt").display(),
        dir.display()
    );
    let msg = load_err("corrupt-cfg", &text);
    assert!(msg.contains("corrupt tokenizer cache") && msg.contains("-bpe300.json"), "{msg}");
    assert!(msg.contains("delete it to retrain"), "{msg}");
}

#[test]
fn bad_override_names_the_set_flag() {
    let p = write("override", GOOD);
    let e = RunConfig::load(&p, &["optim.learning_rate=1".into()]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("--set optim.learning_rate=1") && msg.contains("learning_rate"), "{msg}");
    let ok = RunConfig::load(&p, &["optim.lr=3e-3".into(), "model.n_layer=2".into()]).unwrap();
    assert_eq!(ok.optim.lr, 3e-3);
    assert_eq!(ok.model.n_layer, 2);
}

#[test]
fn shipped_experiments_parse() {
    for f in std::fs::read_dir(common::root().join("experiments")).unwrap() {
        let p = f.unwrap().path();
        RunConfig::load(&p, &[]).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
    }
}
