//! A microsecond clock from the time-stamp counter, calibrated once against the firmware's
//! `Stall` (UEFI `GetTime` has one-second resolution, too coarse for TCP).

use core::time::Duration;

use uefi::boot;

/// Calibration period: long enough for a stable rate under TCG, short enough not to matter.
const CALIBRATION: Duration = Duration::from_millis(50);

/// Monotonic microseconds since calibration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    t0: u64,
    ticks_per_us: u64,
}

impl Clock {
    /// Measures the counter's rate over [`CALIBRATION`] of firmware stall.
    pub(crate) fn calibrate() -> Self {
        let a = rdtsc();
        boot::stall(CALIBRATION);
        let b = rdtsc();
        let us = u64::try_from(CALIBRATION.as_micros()).unwrap_or(u64::MAX);
        let ticks_per_us = (b.wrapping_sub(a) / us).max(1);
        Self {
            t0: b,
            ticks_per_us,
        }
    }

    /// Microseconds since calibration.
    pub(crate) fn now_us(&self) -> u64 {
        rdtsc().wrapping_sub(self.t0) / self.ticks_per_us
    }

    /// A seed for smoltcp's initial sequence numbers and ports.
    pub(crate) fn seed(&self) -> u64 {
        rdtsc()
    }
}

fn rdtsc() -> u64 {
    // SAFETY: RDTSC reads a counter; it has no memory effects and every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl swarm_net::time::Clock for Clock {
    fn now(&self) -> swarm_net::time::Instant {
        swarm_net::time::Instant::from_millis(self.now_us() / 1000)
    }
}
