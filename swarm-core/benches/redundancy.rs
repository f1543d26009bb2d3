//! Joining erasure-coded trees (`cargo bench -p swarm-core --features recovery`).
//!
//! A 64 MiB file from an in-memory store, window 64: at level 0 (swarm-bmt's splitter), at
//! MEDIUM (our writer, Bee's tree) with no chunk missing — the bar is a time ratio ≤ 1.1 — and
//! at MEDIUM with 5% of the leaves missing, spread so every sibling group stays recoverable
//! (6 of each 119-leaf group, p = 9), rebuilt from parity. Best of 3 interleaved rounds, this
//! thread's CPU time where Linux reports it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

#[cfg(not(feature = "recovery"))]
fn main() {
    println!("redundancy bench: needs `--features recovery`");
}

#[cfg(feature = "recovery")]
fn main() {
    bench::main();
}

#[cfg(feature = "recovery")]
mod bench {
    use std::collections::{HashMap, HashSet};
    use std::io;
    use std::time::Instant;

    use swarm_bmt::{ChunkAddress, Reference, Splitter};
    use swarm_core::joiner::{Slot, TreeLevel};
    use swarm_core::redundancy::Level;
    use swarm_core::redundant::RedundantSplitter;
    use swarm_core::source::{drive, ChunkSource};
    use swarm_core::Joiner;

    type Store = HashMap<ChunkAddress, Vec<u8>>;
    const MIB: usize = 1 << 20;
    const RUNS: usize = 3;

    struct Without<'a> {
        store: &'a Store,
        gone: &'a HashSet<ChunkAddress>,
    }

    impl ChunkSource for Without<'_> {
        fn fetch(&mut self, a: &ChunkAddress, buf: &mut [u8]) -> io::Result<Option<usize>> {
            if self.gone.contains(a) {
                return Ok(None);
            }
            Ok(self.store.get(a).map(|c| {
                buf[..c.len()].copy_from_slice(c);
                c.len()
            }))
        }
    }

    fn join(root: ChunkAddress, store: &Store, gone: &HashSet<ChunkAddress>) -> (u64, u64) {
        let (mut slots, mut levels) = (vec![Slot::EMPTY; 64], vec![TreeLevel::EMPTY; 3]);
        let mut j = Joiner::new(Reference::plain(root), None, &mut slots, &mut levels).unwrap();
        let mut sink = io::sink();
        let n = drive(&mut j, &mut Without { store, gone }, &mut sink).unwrap();
        (n, j.recovered())
    }

    fn time(f: impl FnOnce()) -> f64 {
        let cpu = || -> Option<u64> {
            let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
            s.split_whitespace().next()?.parse().ok()
        };
        let (c, t) = (cpu(), Instant::now());
        f();
        match (c, cpu()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => t.elapsed().as_secs_f64(),
        }
    }

    pub fn main() {
        let len = 64 * MIB;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        let mut plain = Store::new();
        let mut s = Splitter::with_sink(|a: &ChunkAddress, c: &[u8]| {
            plain.insert(*a, c.to_vec());
            Ok(())
        });
        s.write(&data).unwrap();
        let plain_root = s.finish().unwrap();

        let mut medium = Store::new();
        let leaves: Vec<ChunkAddress> = data
            .chunks(4096)
            .map(|c| swarm_bmt::chunk_address(&4096u64.to_le_bytes(), c).unwrap())
            .collect();
        let t = Instant::now();
        let mut s = RedundantSplitter::new(Level::Medium, |a: &ChunkAddress, c: &[u8]| {
            medium.insert(*a, c.to_vec());
            Ok(())
        });
        s.write(&data).unwrap();
        let medium_root = s.finish().unwrap();
        let write_s = t.elapsed().as_secs_f64();
        // Leaves in file order: every 119-leaf group loses 6 of them (p = 9), ~5% in all.
        let gone: HashSet<ChunkAddress> = leaves
            .chunks(119)
            .flat_map(|g| g.iter().step_by(20).copied())
            .collect();
        let none = HashSet::new();
        println!(
            "redundancy bench: {} MiB, level 0: {} chunks; MEDIUM: {} chunks (written in {:.2} s, \
             {:.1} MB/s); {} of {} leaves missing ({:.1}%)",
            len / MIB,
            plain.len(),
            medium.len(),
            write_s,
            len as f64 / write_s / 1e6,
            gone.len(),
            leaves.len(),
            100.0 * gone.len() as f64 / leaves.len() as f64
        );
        let mut best = [f64::MAX; 3];
        let mut recovered = 0;
        for _ in 0..RUNS {
            let times = [
                time(|| assert_eq!(join(plain_root, &plain, &none).0, len as u64)),
                time(|| assert_eq!(join(medium_root, &medium, &none).0, len as u64)),
                time(|| {
                    let (n, r) = join(medium_root, &medium, &gone);
                    assert_eq!(n, len as u64);
                    recovered = r;
                }),
            ];
            for (b, t) in best.iter_mut().zip(times) {
                *b = b.min(t);
            }
        }
        let [l0, med, lossy] = best;
        let mbs = |t: f64| len as f64 / t / 1e6;
        println!(
            "join W = 64, level 0, nothing missing:   {:7.1} MB/s",
            mbs(l0)
        );
        println!(
            "join W = 64, MEDIUM, nothing missing:   {:7.1} MB/s   time ratio to level 0 {:.3} \
             (bar 1.1)",
            mbs(med),
            med / l0
        );
        println!(
            "join W = 64, MEDIUM, 5% leaves missing: {:7.1} MB/s   time ratio to no loss {:.3}; \
             {} chunks rebuilt from parity",
            mbs(lossy),
            lossy / med,
            recovered
        );
    }
}
