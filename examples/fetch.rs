//! Fetch a Swarm target and verify every chunk.
//!
//! ```text
//! cargo run --example fetch                       # the embedded demo, on 127.0.0.1 only
//! cargo run --example fetch -- --node URL [--node URL...] TARGET [-o FILE]
//!                                                 # the deboot-fetch command line
//! ```
//!
//! With no arguments it starts an in-process `swarm-relay` with a store in a temporary
//! directory, seeds it with a demo boot collection, fetches `boot/kernel.img` out of it through
//! the framed protocol and through the Bee-API path, then shows a lying relay being caught.
//! With arguments it is exactly `deboot-fetch` (same library, same flags, same exit status):
//! URL is `http://HOST:PORT` (a Bee node's API) or `tcp://HOST:PORT` (a swarm-relay), TARGET
//! is `bzz://<ref>[/path]`, `bytes://<ref>` or `feed://<owner>/<topic>[/path]`.

// A std program: `core::` spellings would buy nothing here.
#![allow(clippy::std_instead_of_core)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use deboot_fetch::{execute, Cli, Report};
use swarm_bmt::ChunkAddress;
use swarm_relay::{demo, Backend, Config, Faults, Relay, Store};

/// Leaves of the kernel the third relay withholds (a MEDIUM group of 119 has 9 parity chunks).
const WITHHELD: usize = 5;

/// The liar flips a byte in every N-th chunk it serves.
const LIAR_CORRUPTS_EVERY: u64 = 3;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    if args.len() > 1 {
        return deboot_fetch::run(args);
    }
    match run_demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fetch demo: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The embedded demo (also run by `tests/fetch_demo.rs`).
pub(crate) fn run_demo() -> Result<()> {
    let dir = TempDir::new()?;
    println!("DeBoot fetch demo: no arguments, so everything runs in this process on 127.0.0.1.");

    // 1. A relay with a local store holding a boot collection.
    let store = Store::open(dir.0.join("store"))?;
    let seeded = demo::seed(&store, demo::DEFAULT_KERNEL_LEN)?;
    let store = Arc::new(store);
    let honest = Relay::bind(
        "127.0.0.1:0",
        Backend::Store(Arc::clone(&store)),
        Config::default(),
    )?;
    let h = honest.local_addr();
    println!(
        "\n1. swarm-relay on {h}, store {}",
        dir.0.join("store").display()
    );
    println!(
        "   imported a demo boot collection (a directory, as `swarm-relay import DIR`: \
         redundancy MEDIUM, Bee's default):"
    );
    for (path, reference, len) in &seeded.files {
        println!("     {path:<18} {len:>8} bytes   bytes://{reference}");
    }
    println!(
        "   collection reference (its mantaray manifest): {}",
        seeded.reference
    );

    // 2. Fetch the kernel through the framed protocol, then through the Bee API path.
    let target = format!("bzz://{}/{}", seeded.reference, demo::KERNEL_PATH);
    let want = demo::kernel_bytes(demo::DEFAULT_KERNEL_LEN);
    let out = dir.0.join("kernel.img");
    for (step, url) in [("2.", format!("tcp://{h}")), ("2b.", format!("http://{h}"))] {
        let how = if url.starts_with("tcp") {
            "the framed protocol"
        } else {
            "the Bee API path (GET /chunks/{address})"
        };
        println!("\n{step} fetch {} through {how}", demo::KERNEL_PATH);
        println!("   $ deboot-fetch --node {url} {target} -o kernel.img");
        let report = fetch(&[&url], &target, &out)?;
        if std::fs::read(&out)? != want {
            return Err("the fetched file differs from the imported one".into());
        }
        print_report(&report);
        if step == "2." {
            println!("   (cold: the relay read each chunk from disk and re-verified it first)");
            println!(
                "   the path was looked up in the manifest, then the file's chunk tree joined;\n   \
                 every chunk was verified against its BMT address (keccak256 of the chunk's \
                 binary\n   Merkle tree, span included) before a byte of it was written, and \
                 kernel.img\n   appeared (fsync, rename) only after the last one: it equals \
                 the imported bytes."
            );
        }
        std::fs::remove_file(&out)?;
    }

    // 3. A relay that lacks some of the kernel's chunks: rebuilt from parity.
    let gone = first_leaves(&store, &seeded, WITHHELD)?;
    let holey = Relay::bind(
        "127.0.0.1:0",
        Backend::Store(Arc::clone(&store)),
        Config {
            faults: Faults {
                withhold: gone.iter().copied().collect(),
                ..Faults::default()
            },
            ..Config::default()
        },
    )?;
    let url = format!("tcp://{}", holey.local_addr());
    println!(
        "\n3. a relay on {} missing {WITHHELD} of the kernel's chunks (the first leaves of a \
         sibling group of 119 with 9 parity chunks)",
        holey.local_addr()
    );
    println!("   $ deboot-fetch --node {url} {target} -o kernel.img");
    let report = fetch(&[&url], &target, &out)?;
    if std::fs::read(&out)? != want {
        return Err("the fetched file differs from the imported one".into());
    }
    print_report(&report);
    if report.recovered != WITHHELD as u64 {
        return Err(format!("{} chunks recovered, not {WITHHELD}", report.recovered).into());
    }
    println!(
        "   no node had those {WITHHELD} chunks: each was rebuilt (Reed-Solomon) from its \
         group's parity\n   chunks and accepted only because it hashes to the reference \
         that names it."
    );
    std::fs::remove_file(&out)?;
    holey.shutdown();

    // 4. A lying relay in front of the honest one.
    let liar = Relay::bind(
        "127.0.0.1:0",
        Backend::Store(Arc::clone(&store)),
        Config {
            faults: Faults {
                corrupt_every: LIAR_CORRUPTS_EVERY,
                ..Faults::default()
            },
            ..Config::default()
        },
    )?;
    let l = liar.local_addr();
    println!(
        "\n4. a lying relay on {l} (same store, flips a byte in every {}rd chunk it serves) \
         first,\n   the honest relay second",
        LIAR_CORRUPTS_EVERY
    );
    let (bad, good) = (format!("tcp://{l}"), format!("tcp://{h}"));
    println!("   $ deboot-fetch --node {bad} --node {good} {target} -o kernel.img");
    let report = fetch(&[&bad, &good], &target, &out)?;
    if std::fs::read(&out)? != want {
        return Err("the fetched file differs from the imported one".into());
    }
    print_report(&report);
    println!(
        "   {} chunk(s) from the liar failed verification and were refused; each was asked of\n   \
         the honest relay instead, and the liar was demoted: still every byte verified.",
        report.refused
    );
    std::fs::remove_file(&out)?;

    // 5. The liar alone.
    println!("\n5. the lying relay alone");
    println!("   $ deboot-fetch --node {bad} {target} -o kernel.img");
    match fetch(&[&bad], &target, &out) {
        Ok(_) => return Err("a fetch from the liar alone succeeded".into()),
        Err(e) => {
            let status = e
                .downcast_ref::<deboot_fetch::Error>()
                .map_or(1, |e| e.exit() as u8);
            println!("   deboot-fetch: {e}");
            println!("   exit status {status}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(&dir.0)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "store")
        .collect();
    if !left.is_empty() {
        return Err("a failed fetch left a file behind".into());
    }
    println!("   no kernel.img and no temporary file: a failed fetch writes nothing.");

    liar.shutdown();
    honest.shutdown();
    drop(store);
    println!(
        "\nRelays stopped, {} removed. Against your own relay or Bee node:\n  \
         cargo run -p swarm-relay -- import DIR --store STORE        # prints the reference\n  \
         cargo run -p swarm-relay -- serve --listen 127.0.0.1:7070 --store STORE\n  \
         cargo run --example fetch -- --node tcp://127.0.0.1:7070 bzz://<ref>/<path> -o FILE\n  \
         cargo run --example fetch -- --node http://127.0.0.1:1633 bytes://<ref> -o FILE",
        dir.0.display()
    );
    Ok(())
}

/// The addresses of the first `n` leaves of the demo kernel (under its root's first child).
fn first_leaves(store: &Store, seeded: &demo::Seeded, n: usize) -> Result<Vec<ChunkAddress>> {
    let (kernel, _) = seeded
        .file(demo::KERNEL_PATH)
        .ok_or("no kernel in the demo collection")?;
    let child = |chunk: &[u8], i: usize| -> Result<ChunkAddress> {
        let at = 8 + 32 * i;
        let bytes = chunk.get(at..at + 32).ok_or("short intermediate chunk")?;
        Ok(ChunkAddress::from_slice(bytes)?)
    };
    let root = store
        .get_verified(kernel.address())?
        .ok_or("no kernel root")?;
    let first = store
        .get_verified(&child(&root, 0)?)?
        .ok_or("no intermediate chunk")?;
    (0..n).map(|i| child(&first, i)).collect()
}

/// Runs the deboot-fetch command line `--node URL... TARGET -o OUT`.
fn fetch(urls: &[&str], target: &str, out: &Path) -> Result<Report> {
    let mut args = vec!["deboot-fetch".to_owned()];
    for u in urls {
        args.extend(["--node".to_owned(), (*u).to_owned()]);
    }
    args.extend([
        target.to_owned(),
        "-o".to_owned(),
        out.display().to_string(),
    ]);
    let cli: Cli = clap::Parser::try_parse_from(args)?;
    Ok(execute(&cli, false)?)
}

fn print_report(r: &Report) {
    let nodes: Vec<String> = r.nodes.iter().map(ToString::to_string).collect();
    println!(
        "   {} bytes in {} verified chunks (manifest nodes and the file's tree) in {:.3} s: \
         {:.1} MB/s\n   nodes: {}\n   recovered from parity (no node had them): {}",
        r.bytes,
        r.chunks,
        r.elapsed.as_secs_f64(),
        r.mb_per_s(),
        nodes.join("; "),
        r.recovered
    );
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("deboot-fetch-demo-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
