//! The firmware edges: every `unsafe` block of the app lives below, each with its `// SAFETY:`.

pub(crate) mod clock;
pub(crate) mod esp;
pub(crate) mod handover;
pub(crate) mod net;
pub(crate) mod snp;
pub(crate) mod vars;
