//! The BMT drivers shared by every SIMD kernel, written once over the kernel's primitives.
//!
//! `kernel!` expands inside a kernel module that defines `V` (one vector of `N` u64 lanes) and
//! these `#[target_feature]` primitives, all `#[inline]`:
//! `xor`, `xor5`, `rol::<L, R>`, `chi`, `splat`, `lanes_of([u64; N]) -> V`,
//! `to_lanes(V) -> [u64; N]`, `load_rows([&[u8; 64]; N]) -> [V; 8]` (row `l` of the message
//! into lane `l`) and `pairs(&[V; 4], &[V; 4]) -> [V; 8]` (the message of each pair of
//! adjacent nodes of two batches: even lanes left, odd lanes right).
//!
//! It adds the permutation and the drivers, each with the kernel's target features. Nothing in
//! here is `unsafe`: the kernel's primitives hold the few raw loads and stores.

/// Expands the drivers for `N = $n` lanes with the target features `$feat`.
macro_rules! kernel {
    ($feat:literal, $n:literal) => {
        /// Lanes per vector.
        const N: usize = $n;

        /// A node per lane: the four 64-bit words of a 32-byte digest.
        type Words = [V; 4];

        /// A subtree root per lane, or "all lanes lie in the zero padding here". Lives on the
        /// stack of one call, so its size (one `Words`) does not matter.
        #[derive(Clone, Copy)]
        #[allow(clippy::large_enum_variant)]
        enum Node {
            Zero,
            Val(Words),
        }

        /// Keccak-f[1600] on `N` interleaved states.
        #[inline(never)]
        #[target_feature(enable = $feat)]
        pub(super) fn f1600(state: &mut [V; 25]) {
            keccak_f1600!(state);
        }

        /// Keccak-256 of `W` < 16 whole words per lane (`msg[w]` = word `w` of every lane):
        /// one block, padded with 0x01 right after the message and 0x80 at byte 135 (word 16).
        #[inline]
        #[target_feature(enable = $feat)]
        fn hash_words<const W: usize>(msg: [V; W]) -> Words {
            const { assert!(W < 16, "the message and its padding fill one block") };
            let mut s = [splat(0); 25];
            for (word, m) in s.iter_mut().zip(msg) {
                *word = m;
            }
            if let Some(word) = s.get_mut(W) {
                *word = splat(0x01);
            }
            if let Some(word) = s.get_mut(16) {
                *word = splat(0x8000_0000_0000_0000);
            }
            f1600(&mut s);
            let [w0, w1, w2, w3, ..] = s;
            [w0, w1, w2, w3]
        }

        /// Keccak-256 of one 64-byte message per lane (`msg[w]` = word `w` of every lane).
        #[inline]
        #[target_feature(enable = $feat)]
        fn hash_msg(msg: &[V; 8]) -> Words {
            hash_words(*msg)
        }

        /// Keccak-256 of the 40 bytes `span || root` per lane: the chunk address.
        #[inline]
        #[target_feature(enable = $feat)]
        fn hash_span(span: V, root: &Words) -> Words {
            let [r0, r1, r2, r3] = *root;
            hash_words([span, r0, r1, r2, r3])
        }

        /// The message `left || right` per lane.
        #[inline]
        #[target_feature(enable = $feat)]
        fn join(left: &Words, right: &Words) -> [V; 8] {
            let [l0, l1, l2, l3] = *left;
            let [r0, r1, r2, r3] = *right;
            [l0, l1, l2, l3, r0, r1, r2, r3]
        }

        /// `ZERO_HASHES[depth]` in every lane.
        #[inline]
        #[target_feature(enable = $feat)]
        fn zero_words(depth: usize) -> Words {
            let z = $crate::ZERO_HASHES.get(depth).copied().unwrap_or_default();
            let (words, _) = z.as_chunks::<8>();
            let mut out = [splat(0); 4];
            for (o, w) in out.iter_mut().zip(words) {
                *o = splat(u64::from_le_bytes(*w));
            }
            out
        }

        /// The 32-byte digest held in each lane.
        #[inline]
        #[target_feature(enable = $feat)]
        pub(super) fn store_words(words: &Words) -> [[u8; 32]; N] {
            let mut out = [[0u8; 32]; N];
            for (w, v) in words.iter().enumerate() {
                let at = 8 * w;
                for (digest, lane) in out.iter_mut().zip(to_lanes(*v)) {
                    if let Some(dst) = digest.get_mut(at..at + 8) {
                        dst.copy_from_slice(&lane.to_le_bytes());
                    }
                }
            }
            out
        }

        /// Hashes one chunk's payload level by level, `N` nodes of a level per permutation,
        /// until one batch of `N` nodes is left; returns it (lane `l` = node `l`).
        ///
        /// `live` = sections holding payload; batches lying wholly in the zero padding are
        /// not hashed but filled with [`ZERO_HASHES`]($crate::ZERO_HASHES).
        #[allow(dead_code)]
        #[target_feature(enable = $feat)]
        pub(super) fn levels(payload: &[u8; 4096], live: usize) -> Words {
            const BATCHES: usize = 64 / N;
            let (sections, _) = payload.as_chunks::<64>();
            let (groups, _) = sections.as_chunks::<N>();
            let mut level = [zero_words(1); BATCHES];
            let mut live_nodes = live;
            for (slot, group) in level.iter_mut().zip(groups).take(live_nodes.div_ceil(N)) {
                *slot = hash_msg(&load_rows(group.each_ref()));
            }
            let mut count = BATCHES;
            let mut depth = 1;
            while count > 1 {
                count /= 2;
                depth += 1;
                live_nodes = live_nodes.div_ceil(2);
                let live_batches = live_nodes.div_ceil(N);
                for b in 0..count {
                    let node = if b < live_batches {
                        let fill = zero_words(depth - 1);
                        let left = level.get(2 * b).copied().unwrap_or(fill);
                        let right = level.get(2 * b + 1).copied().unwrap_or(fill);
                        hash_msg(&pairs(&left, &right))
                    } else {
                        zero_words(depth)
                    };
                    if let Some(slot) = level.get_mut(b) {
                        *slot = node;
                    }
                }
            }
            level[0]
        }

        /// Reduces `count` (a power of two ≤ `N`) nodes held in lanes `0..count` to their
        /// root, in lane 0. Other lanes end up with don't-care values.
        #[allow(dead_code)]
        #[target_feature(enable = $feat)]
        pub(super) fn reduce(mut nodes: Words, mut count: usize) -> Words {
            while count > 1 {
                nodes = hash_msg(&pairs(&nodes, &nodes));
                count /= 2;
            }
            nodes
        }

        /// The chunk address held in lane 0 for `span`, from the BMT root in lane 0.
        #[allow(dead_code)]
        #[target_feature(enable = $feat)]
        pub(super) fn address_lane0(root: &Words, span: u64) -> [u8; 32] {
            let [out, ..] = store_words(&hash_span(splat(span), root));
            out
        }

        /// Chunk addresses of `N` chunks side by side, chunk `l` in lane `l`: the 64 sections
        /// of every chunk go through the lanes together, and the tree is reduced as a binary
        /// counter (at most one pending node per depth). Sections past the longest payload
        /// are not hashed. Payloads must be at most 4096 bytes (longer ones are cut there).
        #[target_feature(enable = $feat)]
        pub(super) fn side_by_side(payloads: &[&[u8]; N], spans: &[u64; N]) -> [[u8; 32]; N] {
            const ZERO_ROW: [u8; 64] = [0; 64];
            let sections = payloads
                .iter()
                .map(|p| p.len().div_ceil(64))
                .max()
                .unwrap_or(0);
            let mut pending: [Option<Node>; 8] = [None; 8];
            let mut tmp = [[0u8; 64]; N];
            for s in 0..64 {
                let at = 64 * s;
                let mut node = if s < sections {
                    // Rows wholly inside a payload are read in place; a partial last row is
                    // copied, zero-padded, to `tmp`; rows past the payload read zeros.
                    for (t, p) in tmp.iter_mut().zip(payloads) {
                        let rest = p.get(at..).unwrap_or_default();
                        if rest.len() < 64 {
                            *t = ZERO_ROW;
                            if let Some(dst) = t.get_mut(..rest.len()) {
                                dst.copy_from_slice(rest);
                            }
                        }
                    }
                    let rows: [&[u8; 64]; N] = core::array::from_fn(|l| {
                        payloads
                            .get(l)
                            .and_then(|p| p.get(at..at + 64))
                            .and_then(|r| <&[u8; 64]>::try_from(r).ok())
                            .or(tmp.get(l))
                            .unwrap_or(&ZERO_ROW)
                    });
                    Node::Val(hash_msg(&load_rows(rows)))
                } else {
                    Node::Zero
                };
                let mut depth = 1;
                while let Some(left) = pending.get_mut(depth).and_then(Option::take) {
                    node = match (left, node) {
                        (Node::Zero, Node::Zero) => Node::Zero,
                        (Node::Val(l), Node::Zero) => {
                            Node::Val(hash_msg(&join(&l, &zero_words(depth))))
                        }
                        (Node::Zero, Node::Val(r)) => {
                            Node::Val(hash_msg(&join(&zero_words(depth), &r)))
                        }
                        (Node::Val(l), Node::Val(r)) => Node::Val(hash_msg(&join(&l, &r))),
                    };
                    depth += 1;
                }
                if let Some(slot) = pending.get_mut(depth) {
                    *slot = Some(node);
                }
            }
            let root = match pending[7] {
                Some(Node::Val(root)) => root,
                _ => zero_words(7),
            };
            store_words(&hash_span(lanes_of(*spans), &root))
        }

        /// Keccak-f[1600] of `N` states, transposed in and out (tests only).
        #[allow(dead_code)]
        #[target_feature(enable = $feat)]
        pub(super) fn f1600_states(states: &mut [[u64; 25]; N]) {
            let mut s = [splat(0); 25];
            for (w, v) in s.iter_mut().enumerate() {
                *v = lanes_of(core::array::from_fn(|l| {
                    states.get(l).and_then(|st| st.get(w)).copied().unwrap_or(0)
                }));
            }
            f1600(&mut s);
            for (w, v) in s.iter().enumerate() {
                for (st, word) in states.iter_mut().zip(to_lanes(*v)) {
                    if let Some(dst) = st.get_mut(w) {
                        *dst = word;
                    }
                }
            }
        }

        /// `n` permutations in a row on one interleaved state (the bench's ceiling).
        #[allow(dead_code)]
        #[target_feature(enable = $feat)]
        pub(super) fn permute_n(n: u64) -> u64 {
            let mut s = [splat(0); 25];
            for (w, v) in (0u64..).zip(s.iter_mut()) {
                *v = splat(w.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            for _ in 0..n {
                f1600(&mut s);
            }
            let [first, ..] = to_lanes(s[0]);
            first
        }
    };
}
