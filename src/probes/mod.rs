//! Measurements of a model beyond its training loss: the coordinate check (activation size
//! against width for the first steps) and validation loss at longer contexts.

pub mod coord_check;
pub mod length_extrapolation;
