//! Drills restore events disabled: a streaming edit of mysqldump/mariadb-dump output that
//! turns `ENABLE` into `DISABLE` in every `CREATE EVENT`, so that with `event_scheduler = ON`
//! no event of a scratch database runs (an event may write to other databases by name).
//!
//! The dump tools write each event's head on one line that starts with [`EVENT_LINE`]:
//! `/*!50106 CREATE*/ /*!50117 DEFINER=…*/ /*!50106 EVENT `name` ON SCHEDULE … ON COMPLETION
//! [NOT] PRESERVE ENABLE [COMMENT '…'] DO …`. Only such lines are looked at; every other
//! byte passes as it came.

use dbward_core::stream::{ByLine, LineEdit};

/// How the head of an event definition starts in a dump.
const EVENT_LINE: &[u8] = b"/*!50106 CREATE*/ ";
/// Where in such a line the event's name starts.
const EVENT_NAME: &[u8] = b"/*!50106 EVENT `";

/// The edit that disables events; `DisableEvents::rewrite()` is the streaming form.
#[derive(Debug, Default)]
pub struct DisableEvents;

impl DisableEvents {
    pub fn rewrite() -> ByLine<DisableEvents> {
        ByLine::new(DisableEvents)
    }
}

impl LineEdit for DisableEvents {
    fn may_edit(&self, start: &[u8]) -> bool {
        let known = start.len().min(EVENT_LINE.len());
        start[..known] == EVENT_LINE[..known]
    }

    /// A head longer than the hold is edited on what came: the status comes early in it.
    fn edit(&mut self, line: &[u8], out: &mut Vec<u8>) {
        match status_at(line) {
            Some(at) => {
                out.extend_from_slice(&line[..at]);
                out.extend_from_slice(b"DISABLE");
                out.extend_from_slice(&line[at + b"ENABLE".len()..]);
            }
            None => out.extend_from_slice(line),
        }
    }
}

/// Where the `ENABLE` of an event head is: after the backquoted name, in
/// ` ON COMPLETION [NOT] PRESERVE ENABLE`.
fn status_at(line: &[u8]) -> Option<usize> {
    if !line.starts_with(EVENT_LINE) {
        return None;
    }
    let name = find(line, EVENT_NAME)? + EVENT_NAME.len();
    // The name ends at a backquote that is not doubled.
    let mut i = name;
    let after_name = loop {
        match line.get(i..)?.iter().position(|&b| b == b'`') {
            Some(q) if line.get(i + q + 1) == Some(&b'`') => i += q + 2,
            Some(q) => break i + q + 1,
            None => return None,
        }
    };
    let rest = &line[after_name..];
    let completion = find(rest, b" ON COMPLETION ")?;
    let status = &rest[completion..];
    for keyword in [
        &b" ON COMPLETION NOT PRESERVE ENABLE"[..],
        b" ON COMPLETION PRESERVE ENABLE",
    ] {
        if status.starts_with(keyword) {
            return Some(after_name + completion + keyword.len() - b"ENABLE".len());
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "-- Dumping events for database 'shop'\n\
/*!50106 DROP EVENT IF EXISTS `e1` */;\n\
DELIMITER ;;\n\
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `e1` ON SCHEDULE EVERY 1 HOUR STARTS '2026-11-21 15:54:34' ON COMPLETION NOT PRESERVE ENABLE COMMENT 'c ENABLE DO x' DO INSERT INTO t VALUES (1) \n\
*/ ;;\n\
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `a``PRESERVE ENABLE` ON SCHEDULE EVERY 1 DAY STARTS '2026-11-21 15:54:34' ON COMPLETION PRESERVE ENABLE DO BEGIN INSERT INTO t VALUES (2);\n\
INSERT INTO t VALUES (3); END \n\
*/ ;;\n\
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`%`*/ /*!50106 EVENT `e3` ON SCHEDULE AT '2026-11-22 15:54:34' ON COMPLETION PRESERVE DISABLE DO DELETE FROM t \n\
*/ ;;\n\
INSERT INTO `t` VALUES ('/*!50106 CREATE*/ ON COMPLETION PRESERVE ENABLE');\n\
DELIMITER ;\n";

    fn rewrite_in_pieces(input: &[u8], piece: usize) -> String {
        let out = dbward_core::stream::rewrite_whole(DisableEvents::rewrite(), input, piece);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn enabled_events_are_disabled_and_nothing_else_changes() {
        let want = DUMP
            .replacen(
                "NOT PRESERVE ENABLE COMMENT",
                "NOT PRESERVE DISABLE COMMENT",
                1,
            )
            .replacen(
                "ON COMPLETION PRESERVE ENABLE DO BEGIN",
                "ON COMPLETION PRESERVE DISABLE DO BEGIN",
                1,
            );
        assert_ne!(want, DUMP);
        // Whatever the chunking, the same edit.
        for piece in [1, 2, 7, 18, 19, 64, 4096] {
            assert_eq!(
                rewrite_in_pieces(DUMP.as_bytes(), piece),
                want,
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_dump_without_events_passes_unchanged() {
        let dump = "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1),(2);\n-- Dump completed on 2026-11-21 15:54:34\n";
        assert_eq!(rewrite_in_pieces(dump.as_bytes(), 5), dump);
        // No line end at the very end either.
        assert_eq!(rewrite_in_pieces(b"/*!50106 CRE", 3), "/*!50106 CRE");
    }

    #[test]
    fn a_head_longer_than_the_limit_is_still_judged() {
        let long = format!(
            "/*!50106 CREATE*/ /*!50106 EVENT `e` ON SCHEDULE EVERY 1 HOUR ON COMPLETION NOT PRESERVE ENABLE DO SELECT '{}';\n",
            "x".repeat(dbward_core::stream::MAX_LINE_HOLD * 2)
        );
        let out = rewrite_in_pieces(long.as_bytes(), 1000);
        assert_eq!(out, long.replacen("PRESERVE ENABLE", "PRESERVE DISABLE", 1));
    }
}
