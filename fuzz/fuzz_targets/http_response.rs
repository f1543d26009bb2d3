//! The Bee HTTP response parser fed arbitrary bytes in input-chosen pieces: never a panic, never
//! more bytes consumed than given, and the same outcome however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_net::http::ResponseParser;

fn run(data: &[u8], step: usize) -> Vec<Result<(u16, usize), ()>> {
    let mut parser = ResponseParser::new();
    let mut body = [0u8; 4104];
    let mut outcomes = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    for piece in data.chunks(step.max(1)) {
        pending.extend_from_slice(piece);
        loop {
            match parser.handle(&pending, &mut body) {
                Ok((used, status)) => {
                    assert!(used <= pending.len());
                    pending.drain(..used);
                    match status {
                        Some(s) => outcomes.push(Ok((s.code, s.body_len))),
                        None => break,
                    }
                }
                Err(_) => {
                    outcomes.push(Err(()));
                    return outcomes;
                }
            }
        }
    }
    outcomes
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else { return };
    let whole = run(rest, rest.len());
    let pieces = run(rest, usize::from(step % 17) + 1);
    // Splitting may end a run early only where the whole input was still partial.
    assert!(whole.starts_with(&pieces) || pieces.starts_with(&whole), "{whole:?} vs {pieces:?}");
});
