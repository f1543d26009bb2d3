//! The command line, and what runs it.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::Parser;
use swarm_core::target::Target;

use crate::fetch::{fetch_with, Report, Request, DEFAULT_TIMEOUT_MS, DEFAULT_WINDOW};
use crate::output::{raise_min_index, read_min_index, AtomicFile};
use crate::{Error, MAX_STDOUT_LEN};

/// `deboot-fetch`'s arguments; see the [crate docs](crate#command-line).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "deboot-fetch",
    version,
    about = "Fetch a Swarm target from designated nodes, verifying every chunk",
    after_help = "TARGET: bzz://<ref>[/path] | bytes://<ref> | feed://<owner>/<topic>[/path]\n\
                  Exit status: 0 ok, 2 usage, 3 not found, 4 every node failed a chunk \
                  (bad chunk, timeout, unreachable), 5 verified content refused (malformed, \
                  older than --min-index), 6 local I/O."
)]
pub struct Cli {
    /// Node to fetch from: http://HOST:PORT (a Bee node's API) or tcp://HOST:PORT (a
    /// swarm-relay); repeat for failover, best first.
    #[arg(long = "node", value_name = "URL", required = true)]
    pub nodes: Vec<String>,

    /// What to fetch.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Write to FILE, which appears only once every byte is verified (temporary file in the
    /// same directory, fsync, rename). Without -o, the verified output is held in memory (up
    /// to 64 MiB) and written to standard output only after the whole fetch verified.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Anti-rollback minimum for a feed: the update at this index must be served, none below
    /// is accepted.
    #[arg(long, value_name = "N", conflicts_with = "min_index_file")]
    pub min_index: Option<u64>,

    /// Read the anti-rollback minimum from PATH (a decimal number; a missing file is 0) and
    /// raise it to the fetched update's index after a successful fetch (never lowered).
    #[arg(long, value_name = "PATH")]
    pub min_index_file: Option<PathBuf>,

    /// Chunk requests in flight (1..=256).
    #[arg(long, value_name = "W", default_value_t = DEFAULT_WINDOW)]
    pub window: usize,

    /// Time a node has to answer one request or accept a connection, in milliseconds.
    #[arg(long, value_name = "T", default_value_t = DEFAULT_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
}

/// Runs `deboot-fetch` with `args` (the first is the program name) and returns its exit
/// status; errors are printed to standard error as one line.
pub fn run<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use std::process::ExitCode;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            e.print().ok();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message, first paragraph, as one line.
            let rendered = e.render().to_string();
            let line = rendered
                .trim_start()
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("deboot-fetch: {line} (see --help)");
            return ExitCode::from(crate::Exit::Usage as u8);
        }
    };
    let terminal = io::stderr().is_terminal();
    match execute(&cli, terminal) {
        Ok(report) => {
            if terminal {
                eprintln!("deboot-fetch: {}", summary(&cli, &report));
            } else if report.recovered > 0 {
                // Worth knowing even in a script: the nodes are missing chunks.
                eprintln!("deboot-fetch: {}", recovered_note(report.recovered));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("deboot-fetch: {e}");
            ExitCode::from(e.exit() as u8)
        }
    }
}

/// Does what `cli` asks: reads the min-index file, fetches, writes the output atomically (or
/// to standard output once verified), raises the min-index file.
///
/// # Errors
/// Every [`Error`]; nothing is written to the output then.
pub fn execute(cli: &Cli, progress: bool) -> Result<Report, Error> {
    let target: Target = cli.target.parse().map_err(|e| {
        Error::Usage(format!(
            "target {}: {e} (expected bzz://<ref>[/path], bytes://<ref> or \
             feed://<owner>/<topic>[/path])",
            cli.target
        ))
    })?;
    let min_index = match (&cli.min_index_file, cli.min_index) {
        (Some(path), _) => read_min_index(path)?,
        (None, Some(n)) => n,
        (None, None) => 0,
    };
    let req = Request {
        nodes: cli.nodes.clone(),
        target,
        min_index,
        window: cli.window,
        timeout_ms: cli.timeout_ms,
        progress,
    };
    let report = match &cli.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let report = fetch_with(&req, |b| file.write_all(b)).map_err(|e| match e {
                Error::Io { action, source, .. } => Error::io(action, file.temp_path(), source),
                e => e,
            })?;
            file.commit()?;
            report
        }
        None => {
            let mut held = Vec::new();
            let mut too_large = false;
            let r = fetch_with(&req, |b| {
                if held.len().saturating_add(b.len()) > MAX_STDOUT_LEN {
                    too_large = true;
                    return Err(io::Error::other("output too large"));
                }
                held.extend_from_slice(b);
                Ok(())
            });
            if too_large {
                return Err(Error::OutputTooLarge {
                    max: MAX_STDOUT_LEN,
                });
            }
            let report = r?;
            let mut out = io::stdout().lock();
            out.write_all(&held)
                .and_then(|()| out.flush())
                .map_err(|e| Error::io("writing", "standard output", e))?;
            report
        }
    };
    if let (Some(path), Some(index)) = (&cli.min_index_file, report.feed_index) {
        raise_min_index(path, index)?;
    }
    Ok(report)
}

/// The note for `n` chunks rebuilt because no node had them.
fn recovered_note(n: u64) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} chunk{plural} no node had recovered (from parity or a root replica, verified)")
}

fn summary(cli: &Cli, r: &Report) -> String {
    let used = r.nodes.iter().filter(|n| n.served > 0).count();
    let mut s = format!(
        "verified {} bytes ({} chunks) of {} from {used} node{} in {:.2} s, {:.1} MB/s",
        r.bytes,
        r.chunks,
        cli.target,
        if used == 1 { "" } else { "s" },
        r.elapsed.as_secs_f64(),
        r.mb_per_s()
    );
    if let Some(i) = r.feed_index {
        s.push_str(&format!(", feed update {i}"));
    }
    if r.refused > 0 {
        let plural = if r.refused == 1 { "" } else { "s" };
        s.push_str(&format!(", {} bad chunk{plural} refused", r.refused));
    }
    if r.recovered > 0 {
        s.push_str(", ");
        s.push_str(&recovered_note(r.recovered));
    }
    if let Some(path) = &cli.output {
        s.push_str(&format!(" -> {}", path.display()));
    }
    s
}
