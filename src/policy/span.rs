//! A time span for people: the two largest units, `3d 4h`, `2h 5m`, `45s`.

use chrono::Duration;

/// `d` in its largest unit and the next one down when that is not zero; negative spans
/// print as `0s`.
pub fn span(d: Duration) -> String {
    const UNITS: [(&str, i64); 4] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let secs = d.num_seconds().max(0);
    let largest = UNITS
        .iter()
        .position(|(_, size)| secs >= *size)
        .unwrap_or(UNITS.len() - 1);
    let (name, size) = UNITS[largest];
    let whole = format!("{}{name}", secs / size);
    match UNITS.get(largest + 1) {
        Some((next, next_size)) if (secs % size) / next_size > 0 => {
            format!("{whole} {}{next}", (secs % size) / next_size)
        }
        _ => whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_two_units_at_most() {
        let cases = [
            (0, "0s"),
            (-5, "0s"),
            (45, "45s"),
            (60, "1m"),
            (125, "2m 5s"),
            (7_500, "2h 5m"),
            (7_200, "2h"),
            (3 * 86_400 + 4 * 3_600 + 59, "3d 4h"),
            (2 * 86_400 + 30, "2d"),
        ];
        for (secs, want) in cases {
            assert_eq!(span(Duration::seconds(secs)), want, "{secs}s");
        }
    }
}
