//! Reconnect pacing and the decision to give up on WebSockets.
//!
//! Pure logic (no clock, no randomness of its own): the caller passes a random number in
//! `[0, 1)` so every delay is reproducible in tests.

/// First retry delay in milliseconds.
const BASE_MS: f64 = 250.0;
/// Longest wait between two attempts: long enough not to hammer a server that is down,
/// short enough that a visitor is back within seconds after it returns.
const CAP_MS: f64 = 8_000.0;
/// WebSocket attempts that fail before their socket ever opened, in a row, after which the
/// client checks whether plain HTTP works and, if so, switches to long-polling.
pub const WS_FAILURES_BEFORE_FALLBACK: u32 = 3;

/// Exponential backoff with "full jitter" above a floor of half the step, so many widgets
/// that lost the same server do not all come back at the same instant.
#[derive(Debug, Default, Clone, Copy)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The delay before the next attempt; each call doubles the step up to the cap.
    pub fn next_delay_ms(&mut self, random01: f64) -> u32 {
        let step = (BASE_MS * f64::from(1u32 << self.attempt.min(16))).min(CAP_MS);
        self.attempt = self.attempt.saturating_add(1);
        // NaN (never from Math.random, but cheap to rule out) counts as no jitter.
        let jitter = if random01.is_nan() {
            0.0
        } else {
            random01.clamp(0.0, 1.0)
        };
        (step / 2.0 + step / 2.0 * jitter) as u32
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.attempt
    }

    /// A connection worked: start again from the shortest delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_until_the_cap() {
        let mut b = Backoff::default();
        let steps: Vec<u32> = (0..8).map(|_| b.next_delay_ms(1.0)).collect();
        assert_eq!(steps, vec![250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn jitter_never_goes_below_half_the_step() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(0.0), 125);
        assert_eq!(b.next_delay_ms(0.5), 375);
    }

    #[test]
    fn out_of_range_random_numbers_are_clamped() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay_ms(7.0), 250);
        assert_eq!(b.next_delay_ms(f64::NAN), 250);
        assert_eq!(b.next_delay_ms(-3.0), 500);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut b = Backoff::default();
        for _ in 0..100 {
            b.next_delay_ms(0.3);
        }
        assert_eq!(b.failures(), 100);
        assert!(b.next_delay_ms(1.0) <= 8000);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay_ms(1.0), 250);
    }
}
