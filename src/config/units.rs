//! Units in config values: durations (`90s`, `5m`, `26h`, `7d`, `2w`, `1h30m`) and sizes
//! (`16MiB`, `512KiB`, `1GiB`, or plain bytes).

use std::time::Duration;

/// Parses a human duration; the error says what is expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected =
        || format!("invalid duration {text:?}: expected e.g. \"90s\", \"5m\", \"26h\", \"7d\"");
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(expected()),
        };
        let n: u64 = digits.parse().map_err(|_| expected())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(expected)?;
        digits.clear();
        any = true;
    }
    if !any || !digits.is_empty() {
        return Err(expected());
    }
    Ok(Duration::from_secs(total))
}

/// Parses a size in bytes: a whole number with an optional `KiB`, `MiB` or `GiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let expected =
        || format!("invalid size {text:?}: expected e.g. \"16MiB\", \"512KiB\", \"1GiB\"");
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let number: usize = number.parse().map_err(|_| expected())?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(expected()),
    };
    number.checked_mul(factor).ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_by_table() {
        let cases = [
            ("16MiB", Some(16 << 20)),
            ("512KiB", Some(512 << 10)),
            ("1GiB", Some(1 << 30)),
            ("1000", Some(1000)),
            ("16 MiB", Some(16 << 20)),
            ("16MB", None),
            ("MiB", None),
            ("-1MiB", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text).ok(), want, "{text:?}");
        }
    }

    #[test]
    fn durations_parse_by_table() {
        let cases = [
            ("90s", Some(90)),
            ("5m", Some(300)),
            ("26h", Some(93_600)),
            ("7d", Some(604_800)),
            ("2w", Some(1_209_600)),
            ("1h30m", Some(5_400)),
            ("", None),
            ("5", None),
            ("5x", None),
            ("h", None),
            ("-5m", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                want,
                "{text:?}"
            );
        }
    }
}
