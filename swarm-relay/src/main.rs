//! `swarm-relay`: parses the command line and calls into the library ([`swarm_relay::cli`]).

#![allow(clippy::std_instead_of_core)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = swarm_relay::cli::Cli::parse();
    match swarm_relay::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarm-relay: {e}");
            ExitCode::FAILURE
        }
    }
}
