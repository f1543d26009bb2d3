//! Holder of DeBoot's examples; see `examples/*.rs`.
