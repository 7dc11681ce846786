//! Drills of plain-format dumps restore without ownership and privileges, as `pg_restore
//! --no-owner --no-privileges` does for custom archives: a streaming edit that drops the
//! top-level `ALTER … OWNER TO …;`, `GRANT …;`, `REVOKE …;` and `ALTER DEFAULT PRIVILEGES …;`
//! lines of a pg_dump script. A drill server need not have the source's roles, and a drill
//! proves data, not grants.
//!
//! pg_dump writes each of those statements on one line. Lines inside `COPY … FROM stdin;`
//! data (up to `\.`) are never touched, whatever they hold.

use dbward_core::stream::{ByLine, LineEdit, MAX_LINE_HOLD};

const COPY_START: &[u8] = b"COPY ";
const COPY_END: &[u8] = b"\\.";
const CANDIDATES: [&[u8]; 4] = [b"ALTER ", b"GRANT ", b"REVOKE ", COPY_START];

/// The edit that drops ownership and privilege statements; `DropOwnership::rewrite()` is the
/// streaming form.
#[derive(Debug, Default)]
pub struct DropOwnership {
    /// Inside `COPY … FROM stdin;` data.
    in_copy: bool,
}

impl DropOwnership {
    pub fn rewrite() -> ByLine<DropOwnership> {
        ByLine::new(DropOwnership::default())
    }
}

impl LineEdit for DropOwnership {
    fn may_edit(&self, start: &[u8]) -> bool {
        let maybe = |prefix: &[u8]| {
            let n = start.len().min(prefix.len());
            start[..n] == prefix[..n]
        };
        if self.in_copy {
            maybe(COPY_END) && start.len() <= COPY_END.len() + 2
        } else {
            CANDIDATES.iter().any(|c| maybe(c))
        }
    }

    /// A line longer than the hold is not one of the statements dropped: it is handed on.
    fn edit(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let text = trim_line_end(line);
        if self.in_copy {
            if text == COPY_END {
                self.in_copy = false;
            }
        } else if text.starts_with(COPY_START) && text.ends_with(b" FROM stdin;") {
            self.in_copy = true;
        } else if line.len() < MAX_LINE_HOLD && is_ownership_or_privilege(text) {
            return;
        }
        out.extend_from_slice(line);
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn is_ownership_or_privilege(line: &[u8]) -> bool {
    if !line.ends_with(b";") {
        return false;
    }
    (line.starts_with(b"ALTER ") && memchr::memmem::find(line, b" OWNER TO ").is_some())
        || line.starts_with(b"GRANT ")
        || line.starts_with(b"REVOKE ")
        || line.starts_with(b"ALTER DEFAULT PRIVILEGES ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "SET client_encoding = 'UTF8';\n\
CREATE TABLE public.t (id integer, note text);\n\
ALTER TABLE public.t OWNER TO alice;\n\
ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n\
COPY public.t (id, note) FROM stdin;\n\
1\tGRANT SELECT ON t TO x;\n\
ALTER TABLE public.t OWNER TO bob;\n\
\\.\n\
ALTER SCHEMA public OWNER TO pg_database_owner;\n\
REVOKE USAGE ON SCHEMA public FROM PUBLIC;\n\
GRANT SELECT ON TABLE public.t TO reporting;\n\
ALTER DEFAULT PRIVILEGES FOR ROLE alice IN SCHEMA public GRANT SELECT ON TABLES TO reporting;\n\
CREATE FUNCTION public.f() RETURNS integer\n\
    LANGUAGE sql\n\
    AS $$ SELECT 1 $$;\n\
-- PostgreSQL database dump complete\n";

    const WITHOUT: &str = "SET client_encoding = 'UTF8';\n\
CREATE TABLE public.t (id integer, note text);\n\
ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n\
COPY public.t (id, note) FROM stdin;\n\
1\tGRANT SELECT ON t TO x;\n\
ALTER TABLE public.t OWNER TO bob;\n\
\\.\n\
CREATE FUNCTION public.f() RETURNS integer\n\
    LANGUAGE sql\n\
    AS $$ SELECT 1 $$;\n\
-- PostgreSQL database dump complete\n";

    fn rewrite_in_pieces(input: &[u8], piece: usize) -> String {
        let out = dbward_core::stream::rewrite_whole(DropOwnership::rewrite(), input, piece);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ownership_and_privileges_go_and_copy_data_stays() {
        for piece in [1, 2, 3, 9, 40, 4096] {
            assert_eq!(
                rewrite_in_pieces(SCRIPT.as_bytes(), piece),
                WITHOUT,
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn long_lines_pass_whole() {
        let long = format!(
            "COPY public.t (id) FROM stdin;\n{}\n\\.\nALTER TABLE x OWNER TO {};\n",
            "9".repeat(200_000),
            "r".repeat(MAX_LINE_HOLD)
        );
        assert_eq!(rewrite_in_pieces(long.as_bytes(), 7_000), long);
    }
}
