//! One walker over a module's float parameters with their dotted paths (burn's visitors
//! give no path): every piece of code that reads or rewrites parameters by name goes
//! through [`params`] or [`map_params`] instead of its own visitor.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

/// A float parameter: its path (e.g. `blocks.0.query.weight`), id, shape, whether it trains,
/// and its value off the autodiff graph, flattened (reshape with `shape` to get it back).
#[derive(Clone, Debug)]
pub struct ParamView {
    pub path: String,
    pub id: ParamId,
    pub shape: Vec<usize>,
    pub trainable: bool,
    pub value: Tensor<1>,
}

impl ParamView {
    /// The value as a 2-D tensor (matrices only).
    pub fn matrix(&self) -> Tensor<2> {
        self.value.clone().reshape([self.shape[0], self.shape[1]])
    }

    pub fn values(&self) -> Vec<f32> {
        self.value.clone().into_data().try_into_vec::<f32>().unwrap()
    }
}

/// Every float parameter of `m`, in module order.
pub fn params<M: Module>(m: &M) -> Vec<ParamView> {
    struct V {
        path: Vec<String>,
        out: Vec<ParamView>,
    }
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val();
            let shape = t.dims().to_vec();
            let trainable = t.is_require_grad() || !t.is_autodiff();
            let n: usize = shape.iter().product();
            self.out.push(ParamView { path: self.path.join("."), id: p.id, shape, trainable, value: t.inner().reshape([n]) });
        }
    }
    let mut v = V { path: vec![], out: vec![] };
    m.visit(&mut v);
    v.out
}

/// Rewrite parameters by path: `f(path, shape, flat value)` returns the new flat value, or
/// `None` to keep it. Ids and require-grad flags are kept, so optimizer state stays attached.
pub fn map_params<M: Module>(m: M, f: impl FnMut(&str, &[usize], Tensor<1>) -> Option<Tensor<1>>) -> M {
    struct Mp<F> {
        path: Vec<String>,
        f: F,
    }
    impl<F: FnMut(&str, &[usize], Tensor<1>) -> Option<Tensor<1>>> ModuleMapper for Mp<F> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let dims: [usize; D] = p.val().dims();
            let flat = p.val().inner().reshape([dims.iter().product::<usize>()]);
            match (self.f)(&self.path.join("."), &dims, flat) {
                Some(new) => replace_value(p, |_| new.reshape(dims)),
                None => p,
            }
        }
    }
    m.map(&mut Mp { path: vec![], f })
}

/// Replace a parameter's value while keeping its id and require-grad flag (so optimizer
/// state stays attached). The new value is built off the autodiff graph.
pub fn replace_value<const D: usize>(p: Param<Tensor<D>>, f: impl FnOnce(Tensor<D>) -> Tensor<D>) -> Param<Tensor<D>> {
    p.map(|t| {
        let (ad, req) = (t.is_autodiff(), t.is_require_grad());
        let x = f(t.inner());
        match (ad, req) {
            (false, _) => x,
            (true, false) => x.autodiff(),
            (true, true) => x.autodiff().require_grad(),
        }
    })
}
