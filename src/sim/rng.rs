//! Random streams and the fast primitive draws of the generators.
//!
//! Every replicate owns its stream, `crate::rng::stream(seed, &[s, i])`, so a study gives
//! the same numbers on any number of threads and in any shard split; [`mix`] and
//! [`stream`] are thin wrappers over the crate-wide [`crate::rng`] (the one mixing
//! function of the crate). Bernoulli draws compare 32-bit halves of one `u64` with a
//! precomputed threshold (two draws per generator call) and resolve the rare tie exactly
//! from a further word, so a draw has probability `p` to 2^-64.

use rand::Rng;
use rand_distr::{Binomial, Distribution};
use rand_xoshiro::Xoshiro256PlusPlus;

pub use crate::rng::splitmix64;

/// The generator every replicate uses.
pub type SimRng = Xoshiro256PlusPlus;

/// The seed of replicate `replicate` of scenario `scenario` in a study seeded with `seed`:
/// [`crate::rng::mix`]`(seed, &[scenario, replicate])`.
#[inline]
pub fn mix(seed: u64, scenario: u64, replicate: u64) -> u64 {
    crate::rng::mix(seed, &[scenario, replicate])
}

/// The random stream of replicate `replicate` of scenario `scenario`:
/// [`crate::rng::stream`]`(seed, &[scenario, replicate])`.
#[inline]
pub fn stream(seed: u64, scenario: u64, replicate: u64) -> SimRng {
    crate::rng::stream(seed, &[scenario, replicate])
}

/// A Bernoulli probability prepared for fast comparison with 32-bit uniforms.
///
/// `p = (hi + lo / 2^32) / 2^32` with `hi`, `lo` 32-bit integers (p rounded to 2^-64);
/// a draw takes a 32-bit uniform `u`: success if `u < hi`, failure if `u > hi`, and on a
/// tie (probability 2^-32) success with probability `lo / 2^32` from a fresh word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub(crate) hi: u32,
    lo: u32,
    one: bool,
}

impl Threshold {
    /// Prepares `p` (clamped into [0, 1]; NaN counts as 0).
    #[inline]
    pub fn new(p: f64) -> Self {
        if p.is_nan() || p <= 0.0 {
            return Threshold {
                hi: 0,
                lo: 0,
                one: false,
            };
        }
        if p >= 1.0 {
            return Threshold {
                hi: u32::MAX,
                lo: u32::MAX,
                one: true,
            };
        }
        let x = p * 18_446_744_073_709_551_616.0; // p · 2^64, < 2^64
        let v = if x >= 18_446_744_073_709_551_615.0 {
            u64::MAX
        } else {
            x as u64
        };
        Threshold {
            hi: (v >> 32) as u32,
            lo: v as u32,
            one: false,
        }
    }

    /// One draw from a 32-bit uniform `u`; `rng` is only touched on a tie.
    #[inline(always)]
    pub fn draw<R: Rng + ?Sized>(&self, u: u32, rng: &mut R) -> bool {
        if u != self.hi {
            u < self.hi || self.one
        } else {
            self.one || (rng.next_u64() as u32) < self.lo
        }
    }
}

/// A source of 32-bit uniforms that draws one `u64` per two values.
#[derive(Debug)]
pub struct HalfWords {
    word: u64,
    have: bool,
}

impl Default for HalfWords {
    fn default() -> Self {
        Self::new()
    }
}

impl HalfWords {
    /// An empty buffer.
    pub fn new() -> Self {
        HalfWords {
            word: 0,
            have: false,
        }
    }

    /// The next 32-bit uniform.
    #[inline(always)]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u32 {
        if self.have {
            self.have = false;
            (self.word >> 32) as u32
        } else {
            self.word = rng.next_u64();
            self.have = true;
            self.word as u32
        }
    }
}

/// A uniform on (0, 1) with 53 random bits, never 0 or 1.
#[inline]
pub fn open01<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
}

/// One binomial draw (BTPE for large `n·p`, inversion otherwise); `p` is clamped into
/// [0, 1].
#[inline]
pub fn binomial<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    match Binomial::new(n, p) {
        Ok(b) => b.sample(rng),
        Err(_) => 0,
    }
}

/// A multinomial sampler over a fixed probability vector, prepared once: the draw walks
/// the cells from the most to the least probable with conditional binomials
/// `n_c ~ Bin(remaining, π_c / Σ_{c' not yet drawn} π_c')`, stopping when nobody is left.
/// Cost O(number of cells), independent of the number of trials.
#[derive(Debug, Clone)]
pub struct Multinomial {
    order: Vec<u32>,
    cond: Vec<f64>,
}

impl Multinomial {
    /// Prepares the sampler; `probs` need not be normalised (negative or NaN entries
    /// count as 0). Returns `None` when the total is not positive and finite.
    pub fn new(probs: &[f64]) -> Option<Self> {
        let clean: Vec<f64> = probs
            .iter()
            .map(|&p| if p.is_finite() && p > 0.0 { p } else { 0.0 })
            .collect();
        let mut order: Vec<u32> = (0..clean.len() as u32)
            .filter(|&i| clean[i as usize] > 0.0)
            .collect();
        order.sort_by(|&a, &b| {
            clean[b as usize]
                .total_cmp(&clean[a as usize])
                .then(a.cmp(&b))
        });
        // suffix sums from the smallest up, for accuracy
        let mut suffix = vec![0.0; order.len() + 1];
        for k in (0..order.len()).rev() {
            suffix[k] = suffix[k + 1] + clean[order[k] as usize];
        }
        if !(suffix[0] > 0.0 && suffix[0].is_finite()) {
            return None;
        }
        let cond = (0..order.len())
            .map(|k| {
                if k + 1 == order.len() {
                    1.0
                } else {
                    (clean[order[k] as usize] / suffix[k]).min(1.0)
                }
            })
            .collect();
        Some(Multinomial { order, cond })
    }

    /// Adds one draw of `Multinomial(n, π)` into `out` (indexed like `probs`).
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, n: u64, out: &mut [u64]) {
        let mut left = n;
        for (k, &c) in self.order.iter().enumerate() {
            if left == 0 {
                break;
            }
            let x = if self.cond[k] >= 1.0 {
                left
            } else {
                binomial(rng, left, self.cond[k])
            };
            out[c as usize] += x;
            left -= x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_separates_streams() {
        let a = mix(1, 0, 0);
        assert_ne!(a, mix(1, 0, 1));
        assert_ne!(a, mix(1, 1, 0));
        assert_ne!(a, mix(2, 0, 0));
        assert_ne!(mix(1, 0, 1), mix(1, 1, 0));
        assert_eq!(a, mix(1, 0, 0));
        // the crate-wide mixer, not a private one
        assert_eq!(a, crate::rng::mix(1, &[0, 0]));
        use rand::Rng;
        assert_eq!(
            stream(1, 2, 3).next_u64(),
            crate::rng::stream(1, &[2, 3]).next_u64()
        );
    }

    #[test]
    fn threshold_edges_and_rate() {
        let mut rng = stream(7, 0, 0);
        let t0 = Threshold::new(0.0);
        let t1 = Threshold::new(1.0);
        let mut hw = HalfWords::new();
        for _ in 0..1000 {
            let u = hw.next(&mut rng);
            assert!(!t0.draw(u, &mut rng));
            assert!(t1.draw(u, &mut rng));
        }
        // exact ties resolve with the low word
        let t = Threshold::new(0.25);
        assert!(!t.draw(1 << 30, &mut rng) || t.lo > 0);
        let p = 0.3;
        let t = Threshold::new(p);
        let n = 400_000;
        let hits = (0..n)
            .filter(|_| t.draw(hw.next(&mut rng), &mut rng))
            .count() as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!(((hits / n as f64) - p).abs() < 5.0 * se);
    }

    #[test]
    fn multinomial_sums_to_n() {
        let m = Multinomial::new(&[0.5, 0.0, 0.25, 0.25]).unwrap();
        let mut rng = stream(3, 1, 2);
        for n in [0u64, 1, 17, 10_000_000] {
            let mut out = vec![0; 4];
            m.sample_into(&mut rng, n, &mut out);
            assert_eq!(out.iter().sum::<u64>(), n);
            assert_eq!(out[1], 0);
        }
        assert!(Multinomial::new(&[0.0, f64::NAN]).is_none());
    }
}
