//! The progress line printed while a file is fetched: bytes so far and MB/s (10^6 bytes per
//! second), at most every [`INTERVAL_US`].

use alloc::format;
use alloc::string::String;

/// Minimum time between two progress lines.
pub const INTERVAL_US: u64 = 500_000;

/// Progress of one fetch, fed with byte counts and a microsecond clock.
#[derive(Debug, Clone)]
pub struct Progress {
    label: &'static str,
    start_us: u64,
    last_us: u64,
}

impl Progress {
    /// Starts timing the fetch of `label` at `now_us`.
    #[must_use]
    pub fn new(label: &'static str, now_us: u64) -> Self {
        Self {
            label,
            start_us: now_us,
            last_us: now_us,
        }
    }

    /// A progress line if [`INTERVAL_US`] has passed since the last one.
    pub fn update(&mut self, bytes: u64, now_us: u64) -> Option<String> {
        if now_us.saturating_sub(self.last_us) < INTERVAL_US {
            return None;
        }
        self.last_us = now_us;
        let us = now_us.saturating_sub(self.start_us);
        Some(format!(
            "deboot: {} {bytes} bytes, {}",
            self.label,
            rate(bytes, us)
        ))
    }

    /// The closing line: bytes, seconds and MB/s.
    #[must_use]
    pub fn finish(&self, bytes: u64, now_us: u64) -> String {
        let us = now_us.saturating_sub(self.start_us);
        format!(
            "deboot: {} {bytes} bytes verified in {}.{:03} s, {}",
            self.label,
            us / 1_000_000,
            (us % 1_000_000) / 1000,
            rate(bytes, us)
        )
    }
}

/// `bytes` over `us` microseconds as "X.Y MB/s".
#[must_use]
pub fn rate(bytes: u64, us: u64) -> String {
    // bytes per microsecond is MB/s; tenths with integer arithmetic.
    let tenths = u128::from(bytes)
        .saturating_mul(10)
        .checked_div(u128::from(us))
        .unwrap_or(0);
    format!("{}.{} MB/s", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_bytes_per_microsecond() {
        assert_eq!(rate(12_300_000, 1_000_000), "12.3 MB/s");
        assert_eq!(rate(5, 0), "0.0 MB/s");
    }

    #[test]
    fn throttles_and_finishes() {
        let mut p = Progress::new("kernel", 1_000);
        assert_eq!(p.update(10, 1_000 + INTERVAL_US - 1), None);
        assert_eq!(
            p.update(1_000_000, 1_000 + INTERVAL_US).as_deref(),
            Some("deboot: kernel 1000000 bytes, 2.0 MB/s")
        );
        assert_eq!(p.update(2, 1_000 + INTERVAL_US + 1), None);
        assert_eq!(
            p.finish(3_000_000, 1_501_000),
            "deboot: kernel 3000000 bytes verified in 1.500 s, 2.0 MB/s"
        );
    }
}
