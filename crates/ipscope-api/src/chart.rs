//! Geometry of the prevalence chart: one bar per day, scaled to a rounded maximum.

/// One bar of the chart, in chart units (0..width, 0..height, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// A "nice" axis maximum at or above `max`: 1, 2, 5 × 10^k (at least 1).
pub fn nice_max(max: u64) -> u64 {
    let mut scale = 1;
    loop {
        for step in [1, 2, 5] {
            if step * scale >= max.max(1) {
                return step * scale;
            }
        }
        scale *= 10;
    }
}

/// Bars for `values` in a `width` × `height` area with the axis maximum `axis_max`; a zero value gets no height.
pub fn bars(values: &[u64], width: f64, height: f64, axis_max: u64) -> Vec<Bar> {
    if values.is_empty() {
        return Vec::new();
    }
    let slot = width / values.len() as f64;
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = height * (*v as f64) / (axis_max.max(1) as f64);
            Bar { x: i as f64 * slot + gap / 2.0, y: height - h, width: slot - gap, height: h }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_axis_maxima() {
        for (max, nice) in [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (250, 500), (309, 500), (1000, 1000)] {
            assert_eq!(nice_max(max), nice, "{max}");
        }
    }

    #[test]
    fn bars_fill_the_width_and_scale_to_the_axis() {
        let b = bars(&[0, 5, 10], 300.0, 100.0, 10);
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].height, b[1].height, b[2].height), (0.0, 50.0, 100.0));
        assert_eq!(b[2].y, 0.0);
        assert!((b[2].x + b[2].width - 290.0).abs() < 1e-9, "bars end a half gap before the edge");
        assert!(bars(&[], 300.0, 100.0, 10).is_empty());
    }
}
