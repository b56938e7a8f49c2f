//! Numbers as the page writes them.

/// `value` with `places` decimals (`fixed(48.8566, 2)` → `"48.86"`), by integer arithmetic: the app then carries
/// none of the standard library's float formatting (its tables are 25 KB of the module).
pub fn fixed(value: f64, places: u32) -> String {
    let scale = 10u64.pow(places);
    let scaled = (value * scale as f64).round() as i64; // NaN → 0, out of range → saturated
    let sign = if scaled < 0 { "-" } else { "" };
    let (whole, fraction) = (scaled.unsigned_abs() / scale, scaled.unsigned_abs() % scale);
    if places == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction:0width$}", width = places as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn writes_fixed_decimals_as_format_would() {
        for (value, places) in [
            (48.8566, 4),
            (2.3522, 4),
            (-33.8688, 4),
            (-0.5, 2),
            (151.20929, 4),
            (0.0, 2),
            (639.999, 2),
            (12.345678, 2),
            (0.004, 2),
            (7.0, 0),
            (-122.41942, 4),
        ] {
            assert_eq!(fixed(value, places), format!("{value:.places$}", places = places as usize), "{value}");
        }
        assert_eq!(fixed(-0.00001, 4), "0.0000", "no minus sign for a value that rounds to zero");
        assert_eq!(fixed(f64::NAN, 2), "0.00");
    }
}
