//! A bounded in-memory cache of recently served chunks (least recently used goes first).
//!
//! Only verified chunks enter the cache (read back from the store and re-verified, or fetched
//! upstream and verified), so a hit is served without hashing again.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use swarm_bmt::ChunkAddress;

/// Default bound of the cache, in chunks: 16 384 chunks, at most 16 384 × 4 201 bytes ≈ 66 MiB
/// of chunk data (4 104 bytes per content-addressed chunk, 4 201 per single-owner chunk).
pub const DEFAULT_CACHE_CHUNKS: usize = 16_384;

/// Largest cache bound accepted, in chunks (≈ 4.2 GiB of chunk data at most).
pub const MAX_CACHE_CHUNKS: usize = 1 << 20;

/// The chunk cache; see the [module docs](self). Shared by every connection.
#[derive(Debug)]
pub struct ChunkCache {
    inner: Option<Mutex<LruCache<ChunkAddress, Arc<[u8]>>>>,
}

impl ChunkCache {
    /// A cache holding at most `capacity` chunks (clamped to [`MAX_CACHE_CHUNKS`]); 0 disables
    /// caching.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: NonZeroUsize::new(capacity.min(MAX_CACHE_CHUNKS))
                .map(|cap| Mutex::new(LruCache::new(cap))),
        }
    }

    /// The chunk at `address` if cached (and marks it most recently used).
    #[must_use]
    pub fn get(&self, address: &ChunkAddress) -> Option<Arc<[u8]>> {
        let inner = self.inner.as_ref()?;
        let mut lru = inner.lock().unwrap_or_else(PoisonError::into_inner);
        lru.get(address).cloned()
    }

    /// Caches a verified chunk, evicting the least recently used one when full.
    pub fn insert(&self, address: ChunkAddress, chunk: Arc<[u8]>) {
        if let Some(inner) = &self.inner {
            let mut lru = inner.lock().unwrap_or_else(PoisonError::into_inner);
            lru.put(address, chunk);
        }
    }

    /// Chunks currently cached.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| {
            inner.lock().unwrap_or_else(PoisonError::into_inner).len()
        })
    }

    /// Whether nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound, in chunks (0 when disabled).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| {
            inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cap()
                .get()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u8) -> ChunkAddress {
        ChunkAddress([i; 32])
    }

    #[test]
    fn holds_at_most_capacity_and_evicts_least_recently_used() {
        let cache = ChunkCache::new(2);
        cache.insert(addr(1), Arc::from(&[1u8][..]));
        cache.insert(addr(2), Arc::from(&[2u8][..]));
        assert!(cache.get(&addr(1)).is_some()); // 1 is now the most recent
        cache.insert(addr(3), Arc::from(&[3u8][..]));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&addr(2)).is_none());
        assert!(cache.get(&addr(1)).is_some());
        assert!(cache.get(&addr(3)).is_some());
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = ChunkCache::new(0);
        cache.insert(addr(1), Arc::from(&[1u8][..]));
        assert!(cache.get(&addr(1)).is_none());
        assert_eq!(cache.capacity(), 0);
    }

    #[test]
    fn capacity_is_clamped_to_the_maximum() {
        assert_eq!(
            ChunkCache::new(MAX_CACHE_CHUNKS).capacity(),
            MAX_CACHE_CHUNKS
        );
        assert_eq!(
            ChunkCache::new(MAX_CACHE_CHUNKS + 1).capacity(),
            MAX_CACHE_CHUNKS
        );
    }
}
