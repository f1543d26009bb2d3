//! Holder of DeBoot's integration tests; see `tests/*.rs`.
