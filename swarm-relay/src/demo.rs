//! The demo boot collection the `fetch` example serves when run without arguments.
//!
//! [`seed`] imports a small website-shaped collection into a [`Store`]: an `index.html` that
//! says what it is, a `boot/kernel.img` of [`DEFAULT_KERNEL_LEN`] deterministic bytes (a
//! stand-in for a kernel image, so the fetch moves a few MiB through hundreds of chunks and a
//! two-level tree), and a `boot/cmdline.txt`. The collection is the one `swarm-relay import`
//! makes of a directory holding those files, and Bee's `POST /bzz` of its tar: at redundancy
//! level MEDIUM ([`crate::import::DEFAULT_LEVEL`]), so the kernel's tree carries parity chunks
//! and every root its replicas, and a fetch survives chunks missing from the relay.
//!
//! ```
//! use std::sync::Arc;
//! use swarm_relay::{demo, Backend, Config, Relay, Store};
//!
//! let dir = std::env::temp_dir().join(format!("relay-demo-doc-{}", std::process::id()));
//! let store = Store::open(&dir)?;
//! let seeded = demo::seed(&store, 64 * 1024)?;
//! let relay = Relay::bind("127.0.0.1:0", Backend::Store(Arc::new(store)), Config::default())?;
//! println!("fetch bzz://{}/{} from tcp://{}", seeded.reference, demo::KERNEL_PATH,
//!          relay.local_addr());
//! relay.shutdown();
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), swarm_relay::Error>(())
//! ```

use swarm_bmt::Reference;

use crate::store::Store;
use crate::Error;

/// Path of the kernel image inside the demo collection.
pub const KERNEL_PATH: &str = "boot/kernel.img";

/// Path of the kernel command line inside the demo collection.
pub const CMDLINE_PATH: &str = "boot/cmdline.txt";

/// Default size of the demo kernel image: 4 MiB (1 024 leaf chunks; at MEDIUM, 9 groups of at
/// most 119 under a root: 10 intermediate chunks and 84 parity chunks).
pub const DEFAULT_KERNEL_LEN: usize = 4 << 20;

/// Seed of the xorshift32 generator the kernel bytes come from (see [`kernel_bytes`]).
pub const KERNEL_SEED: u32 = 0xdeb0_0700;

/// What [`seed`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    /// The collection's manifest reference: fetch `bzz://<reference>/<path>`.
    pub reference: Reference,
    /// Each file: path, its own reference (`bytes://`), and its length.
    pub files: Vec<(&'static str, Reference, u64)>,
}

impl Seeded {
    /// The entry of `path` in [`files`](Self::files).
    #[must_use]
    pub fn file(&self, path: &str) -> Option<(Reference, u64)> {
        self.files
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, r, len)| (*r, *len))
    }
}

/// The demo kernel image: `len` bytes of xorshift32 output seeded with [`KERNEL_SEED`]
/// (each step's state as 4 little-endian bytes), so a fetch can be checked byte for byte.
#[must_use]
pub fn kernel_bytes(len: usize) -> Vec<u8> {
    let mut x = KERNEL_SEED;
    let mut out = Vec::with_capacity(len.saturating_add(4));
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The demo files, `(path, content)`, with a kernel of `kernel_len` bytes.
#[must_use]
pub fn files(kernel_len: usize) -> Vec<(&'static str, Vec<u8>)> {
    let index = format!(
        "<!doctype html>\n<title>DeBoot demo</title>\n<h1>DeBoot demo boot collection</h1>\n\
         <p>Served by swarm-relay from its local store. <code>{KERNEL_PATH}</code> holds \
         {kernel_len} bytes; every chunk of it is verified by the device that fetches it.</p>\n"
    );
    vec![
        ("index.html", index.into_bytes()),
        (KERNEL_PATH, kernel_bytes(kernel_len)),
        (
            CMDLINE_PATH,
            b"console=ttyS0 root=/dev/ram0 quiet\n".to_vec(),
        ),
    ]
}

/// Imports the demo collection (one transaction) at [`crate::import::DEFAULT_LEVEL`], as
/// `swarm-relay import DIR` does, and says what was stored.
///
/// # Errors
/// As [`crate::import::import_collection`].
pub fn seed(store: &Store, kernel_len: usize) -> Result<Seeded, Error> {
    let files = files(kernel_len);
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, c.as_slice())).collect();
    let (reference, refs) =
        crate::import::import_collection_at(store, &borrowed, crate::import::DEFAULT_LEVEL)?;
    Ok(Seeded {
        reference,
        files: files
            .iter()
            .zip(refs)
            .map(|((path, content), r)| (*path, r, content.len() as u64))
            .collect(),
    })
}
