//! Every architecture and parameterization name goes through each place a command spells it
//! (config files, --arch/--param, the coord-check config and folder tag) as the one serde/clap
//! name, so a new variant works end to end (README "Adding a parameterization").

mod common;

use clap::ValueEnum;
use normlab::config::{ArchName, ParamName, RunConfig};
use normlab::probes::coord_check::CoordCheck;
use std::process::Command;

fn clap_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value().expect("no variant is skipped").get_name().to_string()
}

fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).unwrap().as_str().expect("unit variants serialize as strings").to_string()
}

#[test]
fn serde_clap_and_as_str_agree_for_every_variant() {
    for a in ArchName::ALL {
        assert_eq!(serde_name(a), a.as_str());
        assert_eq!(clap_name(a), a.as_str());
        assert_eq!(ArchName::from_str(a.as_str(), false).unwrap(), *a);
    }
    for p in ParamName::ALL {
        assert_eq!(serde_name(p), p.as_str());
        assert_eq!(clap_name(p), p.as_str());
        assert_eq!(ParamName::from_str(p.as_str(), false).unwrap(), *p);
    }
    // ALL really is every variant: clap's own list comes from the enum definition.
    assert_eq!(ArchName::ALL, ArchName::value_variants());
    assert_eq!(ParamName::ALL, ParamName::value_variants());
}

#[test]
fn config_round_trip_for_every_arch_and_param() {
    for a in ArchName::ALL {
        for p in ParamName::ALL {
            let cfg = common::tiny(a.as_str(), &[&format!("param.name={}", p.as_str())]);
            assert_eq!((cfg.arch, cfg.param.name), (*a, *p));
            let text = toml::to_string(&cfg).unwrap();
            assert!(text.contains(&format!("arch = \"{a}\"")), "{text}");
            let back = RunConfig::from_toml_str(&text, "round-trip", &[]).unwrap();
            assert_eq!(back, cfg);
            // The short form `param = "<name>"` parses to the same parameterization.
            let short = format!("arch = \"{a}\"\nparam = \"{p}\"\n[data]\npath = \"data/kjv.txt\"\n");
            assert_eq!(RunConfig::from_toml_str(&short, "short", &[]).unwrap().param.name, *p);
        }
    }
}

#[test]
fn coord_check_config_and_tag_for_every_arch_and_param() {
    for a in ArchName::ALL {
        for p in ParamName::ALL {
            let cc = CoordCheck {
                arch: *a,
                param: *p,
                widths: vec![32, 64],
                steps: 1,
                lr: 1e-2,
                head_dim: 16,
                n_layer: 1,
                seed: 0,
                corpus: common::root().join("data/kjv.txt"),
            };
            let cfg = cc.config(64).unwrap();
            assert_eq!((cfg.arch, cfg.param.name), (*a, *p));
            assert_eq!(cc.tag(), format!("{}-{}", a.as_str(), p.as_str()));
        }
    }
}

/// The command line end to end: `coord-check --param <name>` for every parameterization (the
/// README's worked example failed here when names were rebuilt from `Debug`).
#[test]
fn coord_check_command_accepts_every_param_name() {
    let dir = common::tmpdir("names-cc");
    for p in ParamName::ALL {
        let out = dir.join(p.as_str());
        let o = Command::new(env!("CARGO_BIN_EXE_normlab"))
            .current_dir(common::root())
            .args(["coord-check", "--arch", "ngpt", "--param", p.as_str(), "--widths", "16,32", "--steps", "1", "--layers", "1"])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "--param {p}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(out.join("coord_check.parquet").exists());
    }
}
