//! The names of architectures and parameterizations: each variant is declared once with its
//! one spelling, which config files (serde), `--arch`/`--param` (clap), output folders,
//! figure tags and reports all use.

use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $E:ident { $($(#[$vmeta:meta])* $V:ident = $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
        pub enum $E {
            $($(#[$vmeta])* #[serde(rename = $name)] #[value(name = $name)] $V,)+
        }

        impl $E {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$E] = &[$($E::$V,)+];

            /// The name as written in config files and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($E::$V => $name,)+
                }
            }
        }

        impl std::fmt::Display for $E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// Which architecture the run trains (one file each under `src/model/`).
    pub enum ArchName {
        /// GPT baseline: RMSNorm pre-norm, RoPE, SwiGLU [P-nGPT §2].
        Gpt = "gpt",
        /// GPT + per-head QK RMSNorm, the anGPT paper's baseline.
        GptPlus = "gpt_plus",
        /// Normalized Transformer [P-nGPT].
        Ngpt = "ngpt",
        /// Approximately normalized GPT (reconstruction) [P-anGPT].
        Angpt = "angpt",
    }
}

named_enum! {
    /// Which parameterization scales init, learning rates and constants (`src/param/`).
    pub enum ParamName {
        /// Standard parameterization: every multiplier is 1.
        Sp = "sp",
        /// μP (Tensor Programs V, Adam table).
        Mup = "mup",
        /// νGPT: width/depth/horizon transfer for nGPT.
        Nugpt = "nugpt",
        /// nGPT with μP-style (full alignment) width corrections.
        Completep = "completep",
        /// νGPT with an extra m_depth^(-1/2) on hidden learning rates.
        DepthMup = "depth_mup",
    }
}

// `#[default]` would need `Default` in the macro's derive list, which ArchName must not get.
#[allow(clippy::derivable_impls)]
impl Default for ParamName {
    fn default() -> Self {
        ParamName::Sp
    }
}
