//! Where the relay gets chunks: a local [`Store`] or an upstream Bee node, behind the
//! [`ChunkCache`]. Every chunk is verified before it is cached or served, except cache hits
//! (they were verified when they entered the cache).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use swarm_bmt::ChunkAddress;

use crate::cache::ChunkCache;
use crate::store::Store;
use crate::verify::verify_chunk;
use crate::Error;

/// Default timeout of one upstream `GET /chunks/{address}` (connect, send and receive).
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest body accepted from upstream: a single-owner chunk of 4 201 bytes.
pub const MAX_UPSTREAM_BODY_LEN: u64 = swarm_core::soc::MAX_SOC_LEN as u64;

/// The source of chunks behind the cache.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A local chunk store (the relay verifies what it reads back).
    Store(Arc<Store>),
    /// A Bee node's HTTP API (the relay verifies what it receives).
    Upstream(Arc<Upstream>),
}

impl Backend {
    /// Whether a miss may block on the network (then the framed server hands it to a worker).
    #[must_use]
    pub const fn is_remote(&self) -> bool {
        matches!(self, Self::Upstream(_))
    }
}

/// A Bee node's `GET /chunks/{address}`, with keep-alive connections (ureq's agent pool).
#[derive(Debug)]
pub struct Upstream {
    base: String,
    agent: ureq::Agent,
}

impl Upstream {
    /// A client for the Bee API at `base_url` (`http://host:port`, no trailing path).
    ///
    /// # Errors
    /// [`Error::Upstream`] if the URL is not `http://…`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, Error> {
        let base = base_url.trim_end_matches('/');
        if !base.starts_with("http://") {
            return Err(Error::Upstream(format!(
                "{base_url}: only http:// upstream URLs are supported"
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Ok(Self {
            base: base.to_owned(),
            agent: config.into(),
        })
    }

    /// The node's bytes for `address`, **unverified**; `None` on 404.
    ///
    /// # Errors
    /// [`Error::Upstream`] on a transport error, any other status, or a body over
    /// [`MAX_UPSTREAM_BODY_LEN`].
    pub fn fetch(&self, address: &ChunkAddress) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}/chunks/{address}", self.base);
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| Error::Upstream(format!("GET {url}: {e}")))?;
        match resp.status().as_u16() {
            200 => resp
                .body_mut()
                .with_config()
                .limit(MAX_UPSTREAM_BODY_LEN)
                .read_to_vec()
                .map(Some)
                .map_err(|e| Error::Upstream(format!("GET {url}: {e}"))),
            404 => Ok(None),
            status => Err(Error::Upstream(format!("GET {url}: status {status}"))),
        }
    }
}

/// What a lookup found.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The verified chunk bytes.
    Found(Arc<[u8]>),
    /// Neither the cache nor the backend has it.
    NotFound,
    /// The backend failed, or what it had failed verification (logged; never served).
    Failed,
}

/// Counters of what the relay did, for logs and tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Chunk requests answered (both protocols).
    pub requests: AtomicU64,
    /// Requests answered from the cache (not re-verified).
    pub cache_hits: AtomicU64,
    /// Chunks read from the backend and verified (store reads or upstream fetches).
    pub backend_reads: AtomicU64,
    /// Chunks from the backend that failed verification (never served).
    pub verification_failures: AtomicU64,
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// See [`Stats::requests`].
    pub requests: u64,
    /// See [`Stats::cache_hits`].
    pub cache_hits: u64,
    /// See [`Stats::backend_reads`].
    pub backend_reads: u64,
    /// See [`Stats::verification_failures`].
    pub verification_failures: u64,
}

impl Stats {
    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            backend_reads: self.backend_reads.load(Ordering::Relaxed),
            verification_failures: self.verification_failures.load(Ordering::Relaxed),
        }
    }
}

/// The cache in front of a backend.
#[derive(Debug)]
pub(crate) struct Chunks {
    pub(crate) backend: Backend,
    pub(crate) cache: ChunkCache,
    pub(crate) stats: Stats,
}

impl Chunks {
    /// A cache hit, if any (counted).
    pub(crate) fn cached(&self, address: &ChunkAddress) -> Option<Arc<[u8]>> {
        let hit = self.cache.get(address);
        if hit.is_some() {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Reads `address` from the backend, verifies it and caches it. May block on the network
    /// in upstream mode.
    pub(crate) fn lookup_backend(&self, address: &ChunkAddress) -> Lookup {
        let fetched = match &self.backend {
            Backend::Store(store) => store.get_chunk(address),
            Backend::Upstream(up) => up.fetch(address),
        };
        let data = match fetched {
            Ok(Some(data)) => data,
            Ok(None) => return Lookup::NotFound,
            Err(e) => {
                tracing::warn!(%address, error = %e, "backend read failed");
                return Lookup::Failed;
            }
        };
        self.stats.backend_reads.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = verify_chunk(address, &data) {
            self.stats
                .verification_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "not serving a chunk that fails verification");
            return Lookup::Failed;
        }
        let chunk: Arc<[u8]> = Arc::from(data);
        self.cache.insert(*address, Arc::clone(&chunk));
        Lookup::Found(chunk)
    }
}
