//! The command line: `swarm-relay serve …` and `swarm-relay import …`.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use swarm_bmt::ChunkAddress;

use crate::backend::{Backend, Upstream, DEFAULT_UPSTREAM_TIMEOUT};
use crate::cache::{DEFAULT_CACHE_CHUNKS, MAX_CACHE_CHUNKS};
use crate::serve::{
    Config, Faults, Relay, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_UPSTREAM_WORKERS,
};
use crate::store::Store;
use crate::Error;

/// DeBoot's relay: serves verified Swarm chunks to devices on the LAN.
#[derive(Debug, Parser)]
#[command(name = "swarm-relay", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve chunks over DeBoot's framed protocol and Bee's `GET /chunks/{address}`, on one port.
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Add files, or directories as collections, to the store; print one reference per PATH.
    #[command(long_about = IMPORT_LONG_ABOUT)]
    Import(ImportArgs),
}

const SERVE_AFTER_HELP: &str = "\
Both protocols share the --listen port: a connection whose first byte is an ASCII capital
letter (an HTTP method) is served as HTTP/1.1, anything else as the framed protocol.
Every chunk read from the store or fetched upstream is verified before it is served or cached.
The address the relay listens on is printed on stdout once it is ready. SIGTERM or SIGINT
stops it gracefully. Logs go to stderr (RUST_LOG=debug for more).

Test-only options (hidden): --delay-ms N (added latency per chunk response; pipelined requests
overlap), --corrupt-every N (flip the middle byte of every N-th chunk served), --withhold
ADDR... (answer not found for these chunk addresses).";

const IMPORT_LONG_ABOUT: &str = "\
Add files or directories to the store and print one reference per PATH, in order
(`REFERENCE  PATH`).

A file is split as Bee's `POST /bytes` does with `Swarm-Redundancy-Level: LEVEL` (no
encryption): the printed reference is the one that request returns for the same bytes, and the
stored chunks are the ones Bee would store (parity chunks and the root's replicas included).
LEVEL defaults to 1 (MEDIUM), as in Bee 2.8.1 and later; `--redundancy 0` gives the plain tree
and the references earlier versions of this tool printed.

A directory becomes a collection, as Bee's `POST /bzz` with `Swarm-Collection: true`,
`Swarm-Redundancy-Level: LEVEL` and a tar of the directory: every regular file below it
(symbolic links and special files skipped), at its path relative to the directory, in bytewise
path order, with `Content-Type` by file extension and `Filename`; plus
`Swarm-Index-Document: index.html` when DIR/index.html exists (no error document). Files and
manifest nodes are split at LEVEL, as Bee does. Fetch its files as bzz://REFERENCE/PATH.

All chunks of one invocation are written in one database transaction, committed at the end:
an import that fails or is killed at any point leaves nothing of itself in the store, and the
references are printed only after the commit. The store is locked while importing: stop a
`serve` of the same store first.";

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Bee API to fetch chunks from (http://host:port).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "store",
        required_unless_present = "store"
    )]
    pub upstream: Option<String>,
    /// Directory of an existing chunk store (made and filled by `import`).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Bound of the in-memory cache of recent chunks, in chunks (each at most 4201 bytes).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CACHE_CHUNKS,
          value_parser = parse_cache_chunks)]
    pub cache_chunks: usize,
    /// Connections served at once; more are closed on accept.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Close a connection idle for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout_secs: u64,
    /// Timeout of one upstream chunk request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_UPSTREAM_TIMEOUT.as_millis() as u64)]
    pub upstream_timeout_ms: u64,
    /// Threads fetching from the upstream node at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_UPSTREAM_WORKERS)]
    pub upstream_workers: usize,
    /// Test only: added latency per chunk response, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0, hide = true)]
    pub delay_ms: u64,
    /// Test only: flip a byte in every N-th chunk served.
    #[arg(long, value_name = "N", default_value_t = 0, hide = true)]
    pub corrupt_every: u64,
    /// Test only: answer not found for these chunk addresses.
    #[arg(long, value_name = "ADDR", num_args = 1.., hide = true)]
    pub withhold: Vec<ChunkAddress>,
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files or directories to add.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Directory of the chunk store (created if missing).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Redundancy level of the trees, as Bee's `Swarm-Redundancy-Level`: 0 (none), 1 (medium,
    /// Bee's default), 2 (strong), 3 (insane) or 4 (paranoid). Levels 1-4 add parity chunks
    /// and the root's dispersed replicas; 0 gives the references of plain trees.
    #[arg(long, value_name = "LEVEL", default_value_t = crate::import::DEFAULT_LEVEL.as_u8(),
          value_parser = clap::value_parser!(u8).range(0..=4))]
    pub redundancy: u8,
}

/// Runs a parsed command line to completion.
///
/// # Errors
/// Whatever stopped the command; the binary prints it on one line and exits non-zero.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Import(args) => import(&args),
    }
}

fn serve(args: ServeArgs) -> Result<(), Error> {
    let backend = match (&args.upstream, &args.store) {
        (Some(url), _) => Backend::Upstream(Arc::new(Upstream::new(
            url,
            Duration::from_millis(args.upstream_timeout_ms),
        )?)),
        (None, Some(dir)) => Backend::Store(Arc::new(Store::open_existing(dir)?)),
        (None, None) => {
            return Err(Error::Upstream("give --upstream URL or --store DIR".into()));
        }
    };
    let config = Config {
        cache_chunks: args.cache_chunks,
        max_connections: args.max_connections,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        upstream_workers: args.upstream_workers,
        faults: Faults {
            delay: Duration::from_millis(args.delay_ms),
            corrupt_every: args.corrupt_every,
            withhold: args.withhold.into_iter().collect::<HashSet<_>>(),
            ..Faults::default()
        },
        ..Config::default()
    };
    // Register the signals before announcing the port, so no SIGTERM is lost.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    let relay = Relay::bind(args.listen, backend, config)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "swarm-relay listening on {}", relay.local_addr())?;
        out.flush()?;
    }
    if let Some(signal) = signals.forever().next() {
        tracing::info!(signal, "stopping");
    }
    relay.shutdown();
    Ok(())
}

fn parse_cache_chunks(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n > MAX_CACHE_CHUNKS {
        return Err(format!("at most {MAX_CACHE_CHUNKS} chunks"));
    }
    Ok(n)
}

fn import(args: &ImportArgs) -> Result<(), Error> {
    let store = Store::open(&args.store)?;
    let level = swarm_core::redundancy::Level::from_u8(args.redundancy)
        .unwrap_or(swarm_core::redundancy::Level::None);
    let refs = crate::import::import_paths_at(&store, &args.paths, level)?;
    let mut out = std::io::stdout().lock();
    for (reference, path) in refs.iter().zip(&args.paths) {
        writeln!(out, "{reference}  {}", path.display())?;
    }
    out.flush()?;
    Ok(())
}
