//! Order statistics of a sample of durations, in milliseconds.

use std::time::Duration;

/// A sample of durations, kept in milliseconds.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    millis: Vec<f64>,
}

impl Sample {
    pub fn push(&mut self, duration: Duration) {
        self.millis.push(duration.as_secs_f64() * 1000.0);
    }

    pub fn len(&self) -> usize {
        self.millis.len()
    }

    /// The `fraction` quantile (0.5 is the median), interpolated between the closest ranks.
    pub fn quantile(&self, fraction: f64) -> f64 {
        let mut sorted = self.millis.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => f64::NAN,
            1 => sorted[0],
            count => {
                let rank = fraction.clamp(0.0, 1.0) * (count - 1) as f64;
                let below = rank.floor() as usize;
                let above = rank.ceil() as usize;
                let weight = rank - below as f64;
                sorted[below] * (1.0 - weight) + sorted[above] * weight
            }
        }
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(millis: &[u64]) -> Sample {
        let mut sample = Sample::default();
        for &value in millis {
            sample.push(Duration::from_millis(value));
        }
        sample
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(sample(&[5, 1, 3]).median(), 3.0);
        assert_eq!(sample(&[4, 1, 3, 2]).median(), 2.5);
    }

    #[test]
    fn quantiles_interpolate() {
        let values: Vec<u64> = (0..=10).collect();
        let sample = sample(&values);
        assert_eq!(sample.quantile(0.1), 1.0);
        assert_eq!(sample.quantile(0.9), 9.0);
        assert!(Sample::default().median().is_nan());
    }
}
