//! The page shell every page shares: the head, the navigation with who is logged in, the
//! stylesheet (inline: one request per page, no asset to cache-bust; light and dark follow
//! `prefers-color-scheme`, and the layout fits a phone), and small formatting helpers.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::auth::Principal;
use crate::policy::health::State;

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #7d4e00; --warn-bg: #fff8c5; --crit: #b3261e;
  --crit-bg: #ffebe9; --unknown: #57606a; --unknown-bg: #eaeef2; --link: #0550ae; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1;
  --line: #30363d; --ok: #3fb950; --ok-bg: #12261e; --warn: #d29922; --warn-bg: #272115;
  --crit: #ff7b72; --crit-bg: #2d1214; --unknown: #9198a1; --unknown-bg: #21262d; --link: #79c0ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1rem;
  border-bottom: 1px solid var(--line); }
header nav { display: flex; flex-wrap: wrap; gap: 1rem; }
header .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
a { color: var(--link); }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
.scroll { overflow-x: auto; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
.state { font-weight: 700; padding: .1rem .45rem; border-radius: .3rem; white-space: nowrap; }
.state-ok { color: var(--ok); background: var(--ok-bg); }
.state-warning { color: var(--warn); background: var(--warn-bg); }
.state-critical { color: var(--crit); background: var(--crit-bg); }
.state-unknown { color: var(--unknown); background: var(--unknown-bg); }
tr.row-critical td:first-child { border-left: .3rem solid var(--crit); }
tr.row-warning td:first-child { border-left: .3rem solid var(--warn); }
tr.row-ok td:first-child { border-left: .3rem solid var(--ok); }
.counts { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1rem; padding: 0; list-style: none; }
.counts li { padding: .4rem .8rem; border: 1px solid var(--line); border-radius: .4rem; }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: 1rem; }
nav.pages { display: flex; gap: 1rem; margin: 1rem 0; }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin-bottom: 1rem; }
label { display: block; font-weight: 600; }
input, select, button { font: inherit; padding: .35rem .6rem; border: 1px solid var(--line);
  border-radius: .3rem; background: var(--bg); color: var(--fg); }
button { cursor: pointer; font-weight: 600; }
button.primary { background: var(--link); color: var(--bg); border-color: var(--link); }
pre, code { font-family: ui-monospace, monospace; }
pre { padding: .6rem; border: 1px solid var(--line); border-radius: .3rem; overflow-x: auto; }
.muted { color: var(--muted); }
.notice { padding: .6rem .8rem; border: 1px solid var(--line); border-radius: .3rem; }
.error { color: var(--crit); }
svg.chart { width: 100%; max-width: 40rem; height: auto; }
svg.chart .axis { stroke: var(--muted); }
svg.chart text { fill: var(--muted); font-size: 12px; }
svg.chart .trend { fill: none; stroke: var(--link); stroke-width: 2; }
svg.chart .point { fill: var(--link); }
svg.chart .point.failed { fill: var(--crit); }
svg.chart .point.anomaly { stroke: var(--warn); stroke-width: 3; }
td.over { font-weight: bold; }
.login { max-width: 22rem; margin: 3rem auto; }
.login p { margin: .75rem 0; }
.login input { width: 100%; }
"#;

/// A whole page: `title`, the navigation for `who` (none on the login page), and `body`.
pub fn page(title: &str, who: Option<&Principal>, body: Markup) -> Markup {
    page_with_script(title, who, body, None)
}

/// [`page`] with a script of this origin that enhances it (the page works without it).
pub fn page_with_script(
    title: &str,
    who: Option<&Principal>,
    body: Markup,
    script: Option<&str>,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · dbward" }
                style { (PreEscaped(STYLE)) }
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body {
                header {
                    strong { "dbward" }
                    @if let Some(who) = who {
                        nav aria-label="Main" {
                            a href="/" { "Overview" }
                            a href="/problems" { "Problems" }
                            a href="/destinations" { "Destinations" }
                            a href="/fleet" { "Fleet" }
                            a href="/audit" { "Audit log" }
                        }
                        div.who {
                            span { (who.name) " " span.muted { "(" (who.role) ")" } }
                            @if let Some(csrf) = &who.csrf {
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Log out" }
                                }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A health state as a coloured label.
pub fn state(state: State) -> Markup {
    html! { span class={"state state-" (state_name(state))} { (state.label()) } }
}

pub fn state_name(state: State) -> &'static str {
    match state {
        State::Ok => "ok",
        State::Warning => "warning",
        State::Critical => "critical",
        State::Unknown => "unknown",
    }
}

/// A time as UTC text with how long ago it was.
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({} ago)",
        at.format("%Y-%m-%d %H:%M UTC"),
        crate::policy::span(now - at)
    )
}

/// A path segment with everything but unreserved characters percent-encoded.
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A word quoted for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@'));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_shell_words_are_escaped() {
        assert_eq!(segment("a b/c%"), "a%20b%2Fc%25");
        assert_eq!(segment("shop-1.db"), "shop-1.db");
        assert_eq!(shell_quote("shop"), "shop");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
    }
}
