//! Prints the Swarm reference of each file, like `sha256sum`: `<64 hex reference>  <FILE>`.
//!
//! The reference is the one a Bee node gives the same bytes for `POST /bytes` with
//! `Swarm-Redundancy-Level: 0`. Files are streamed through the splitter in fixed-size reads, so
//! memory stays constant even for multi-GB images.
//!
//! ```text
//! cargo run --release --example hash -- FILE...
//! ```

use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;

use swarm_bmt::{ChunkAddress, Splitter};

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() || files.iter().any(|f| f == "-h" || f == "--help") {
        eprintln!("usage: hash FILE...  (prints `<swarm reference>  <FILE>` for each file)");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
    for name in &files {
        match hash_file(name) {
            Ok(root) => println!("{root}  {name}"),
            Err(e) => {
                eprintln!("hash: {name}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn hash_file(name: &str) -> io::Result<ChunkAddress> {
    let mut file = File::open(name)?;
    let mut splitter = Splitter::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let piece = buf.get(..n).unwrap_or_default();
        splitter.write(piece).map_err(io::Error::other)?;
    }
    splitter.finish().map_err(io::Error::other)
}
