//! Property: for any file size, tree kind (plain, encrypted, any redundancy level), window,
//! delivery order, read sizes and byte range, the joiner outputs exactly that slice of the
//! content. `PROPTEST_CASES` raises the case count (default 32).
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

mod joiner_support;

use joiner_support::*;
use proptest::prelude::*;
use swarm_core::redundancy::Level;

/// Sizes around the interesting boundaries (one leaf, one full intermediate chunk at each
/// branching) and anywhere up to ~1.1 MiB.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..=8200,
        (1usize..=130).prop_flat_map(|leaves| (leaves * 4096 - 2)..=(leaves * 4096 + 2)),
        0usize..=1_100_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn joined_bytes_are_the_right_slice(
        len in size(),
        seed in any::<u64>(),
        window in 1usize..=24,
        level in 0u8..=4,
        encrypted in any::<bool>(),
        order_seed in any::<u64>(),
        range in proptest::option::of((any::<u64>(), any::<u64>())),
    ) {
        let data = content(len, seed);
        let level = Level::from_u8(level).unwrap();
        let (root, store) = if level == Level::None && !encrypted {
            split(&data)
        } else {
            tree(&data, level, encrypted)
        };
        let range = range.map(|(a, b)| {
            let n = len as u64 + 1;
            let (a, b) = (a % n, b % n);
            (a.min(b), a.max(b))
        });
        let order = match order_seed % 3 {
            0 => Order::Fifo,
            1 => Order::Lifo,
            _ => Order::Random(order_seed),
        };
        let run = join(root, &store, window, range, order);
        prop_assert_eq!(run.error, None);
        prop_assert!(run.finished);
        let (a, b) = range.unwrap_or((0, len as u64));
        prop_assert!(run.output == data[a as usize..b as usize]);
        prop_assert!(run.max_outstanding <= window);
    }

    #[test]
    fn arrival_order_does_not_change_what_is_fetched_or_output(
        len in 0usize..=600_000,
        window in 1usize..=16,
        seeds in (any::<u64>(), any::<u64>()),
    ) {
        let data = content(len, len as u64);
        let (root, store) = split(&data);
        let a = join(root, &store, window, None, Order::Random(seeds.0));
        let b = join(root, &store, window, None, Order::Random(seeds.1));
        prop_assert!(a.output == data && b.output == data);
        let (mut ra, mut rb) = (a.requested, b.requested);
        ra.sort_unstable();
        rb.sort_unstable();
        prop_assert_eq!(ra, rb);
    }
}
