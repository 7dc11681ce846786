//! What went wrong talking to a remote store, in the few classes an operator acts on
//! differently: the server cannot be reached, it refused the credentials, the bucket is
//! missing, permission is denied, the object is absent, a temporary hiccup, or something else.
//!
//! The class decides two things: the hint in the message the operator reads, and whether the
//! retry layer (`crate::retry`) may try the call again. `dbward_core::Error` carries only text,
//! so a transient failure is marked in that text with [`TRANSIENT_MARK`]; [`is_transient`]
//! reads it back (and the typed variants `Connect` and `Io`).

use std::error::Error as StdError;
use std::io;

/// Put in the reason of every error the retry layer may retry; stable, tests rely on it.
pub const TRANSIENT_MARK: &str = "(temporary failure)";

/// The class of a failed remote call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing answers at the address (connection refused, no route, DNS failure).
    Unreachable,
    /// The connection broke or timed out, the server said 5xx, 429 or "slow down".
    Transient,
    /// The server rejected who we are (bad key id or secret, bad signature, expired token,
    /// an SSH key the server does not accept).
    Credentials,
    /// The SSH server's host key is not the one the known_hosts file trusts.
    HostKey,
    /// The bucket (or container) does not exist.
    MissingBucket,
    /// We are known but may not do this.
    PermissionDenied,
    /// The object is absent.
    NotFound,
    /// Anything else: permanent, reported as is.
    Other,
}

impl Failure {
    /// Whether trying the same idempotent call again may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, Failure::Unreachable | Failure::Transient)
    }
}

/// Error codes of S3 (and compatible stores), Azure and GCS that mean "who you are is wrong".
const CREDENTIAL_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "InvalidSecurity",
    "NotSignedUp",
];
const MISSING_BUCKET_CODES: &[&str] = &["NoSuchBucket", "ContainerNotFound"];
const PERMISSION_CODES: &[&str] = &[
    "AccessDenied",
    "AuthorizationPermissionMismatch",
    "AllAccessDisabled",
];
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "ServerBusy",
    "OperationTimedOut",
];

/// Classifies an OpenDAL error, looking at its kind, the store's error code in its message
/// and the I/O errors in its source chain.
pub fn classify(err: &opendal::Error) -> Failure {
    let text = full_text(err);
    if let Some(code) = error_code(err.message()) {
        if CREDENTIAL_CODES.contains(&code.as_str()) {
            return Failure::Credentials;
        }
        if MISSING_BUCKET_CODES.contains(&code.as_str()) {
            return Failure::MissingBucket;
        }
        if PERMISSION_CODES.contains(&code.as_str()) {
            return Failure::PermissionDenied;
        }
        if TRANSIENT_CODES.contains(&code.as_str()) {
            return Failure::Transient;
        }
    }
    // GCS's error body has a numeric code; its message names a missing bucket (as S3's does).
    if text.contains("The specified bucket does not exist") {
        return Failure::MissingBucket;
    }
    // A bare HTTP status, for services whose error bodies carry no code (WebDAV servers
    // answer 401 with an HTML page, or nothing).
    if http_status(err) == Some(401) {
        return Failure::Credentials;
    }
    // The ssh client's own words (openssh hands back its log).
    if text.contains("Host key verification failed")
        || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
    {
        return Failure::HostKey;
    }
    if text.contains("Permission denied (publickey") || text.contains("Too many authentication") {
        return Failure::Credentials;
    }
    if let Some(kind) = io_kind_in_chain(err) {
        match classify_io(kind) {
            Failure::Other => {}
            class => return class,
        }
    }
    if text.contains("Connection refused")
        || text.contains("No route to host")
        || text.contains("Could not resolve hostname")
        || text.contains("Name or service not known")
        || text.contains("dns error")
    {
        return Failure::Unreachable;
    }
    if text.contains("Connection timed out") || text.contains("Connection reset") {
        return Failure::Transient;
    }
    match err.kind() {
        opendal::ErrorKind::NotFound => Failure::NotFound,
        opendal::ErrorKind::PermissionDenied => Failure::PermissionDenied,
        opendal::ErrorKind::RateLimited => Failure::Transient,
        _ if err.is_temporary() => Failure::Transient,
        _ => Failure::Other,
    }
}

/// Classifies an I/O error kind met on a connection.
pub fn classify_io(kind: io::ErrorKind) -> Failure {
    use io::ErrorKind::*;
    match kind {
        ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable => {
            Failure::Unreachable
        }
        ConnectionReset | ConnectionAborted | NotConnected | BrokenPipe | TimedOut
        | UnexpectedEof | Interrupted | NetworkDown => Failure::Transient,
        NotFound => Failure::NotFound,
        PermissionDenied => Failure::PermissionDenied,
        _ => Failure::Other,
    }
}

/// Whether a destination error may go away when the same idempotent call is made again.
pub fn is_transient(err: &dbward_core::Error) -> bool {
    match err {
        dbward_core::Error::Destination { reason, .. } => reason.contains(TRANSIENT_MARK),
        dbward_core::Error::Connect { .. } => true,
        dbward_core::Error::Io { err, .. } => classify_io(err.kind()).is_transient(),
        _ => false,
    }
}

/// The store's error code (`NoSuchBucket`, `SignatureDoesNotMatch`, ...) when the message
/// carries one: OpenDAL renders S3's error body as `S3Error { code: "...", message: "..." }`,
/// Azure's and GCS's similarly; an XML body carries `<Code>...</Code>`.
pub fn error_code(message: &str) -> Option<String> {
    for (open, close) in [
        ("code: \"", "\""),
        ("<Code>", "</Code>"),
        ("\"code\":\"", "\""),
    ] {
        if let Some(start) = message.find(open) {
            let rest = &message[start + open.len()..];
            if let Some(end) = rest.find(close) {
                let code = rest[..end].trim();
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Some(code.to_string());
                }
            }
        }
    }
    None
}

/// The HTTP status of the response that failed, when OpenDAL kept it: its HTTP services put
/// the response head in the error's context as `response: Parts { status: 401, .. }`, which
/// only the error's `Display` shows.
pub fn http_status(err: &opendal::Error) -> Option<u16> {
    let text = err.to_string();
    let start = text.find("response: Parts { status: ")? + "response: Parts { status: ".len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The heading of an HTML error page (`<title>401 Unauthorized</title>`), which web servers
/// send as the body of an error; `None` for any other message.
fn html_title(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if !(lower.contains("<html") || lower.contains("<!doctype html")) {
        return None;
    }
    for (open, close) in [("<title>", "</title>"), ("<h1>", "</h1>")] {
        if let Some(start) = lower.find(open) {
            let rest = &lower[start + open.len()..];
            if let Some(end) = rest.find(close) {
                let from = start + open.len();
                let title = message[from..from + end].trim();
                if !title.is_empty() {
                    return Some(title.to_string());
                }
            }
        }
    }
    Some("an HTML error page".into())
}

/// The store's own explanation next to its code, when it gave one.
fn store_message(message: &str) -> Option<String> {
    for (open, close) in [("message: \"", "\""), ("<Message>", "</Message>")] {
        if let Some(start) = message.find(open) {
            let rest = &message[start + open.len()..];
            if let Some(end) = rest.find(close) {
                let text = rest[..end].trim();
                if !text.is_empty() {
                    return Some(text.to_string());
                }
            }
        }
    }
    None
}

fn io_kind_in_chain(err: &opendal::Error) -> Option<io::ErrorKind> {
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

/// The message and every cause under it, joined, without OpenDAL's context dump.
fn full_text(err: &opendal::Error) -> String {
    let mut parts = vec![err.message().to_string()];
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(text.trim())) {
            parts.push(text.trim().to_string());
        }
        source = e.source();
    }
    parts.join(": ")
}

/// A short, one-line account of what the store said, free of request details.
pub fn detail(err: &opendal::Error) -> String {
    let message = err.message();
    let mut out = match (error_code(message), store_message(message)) {
        (Some(code), Some(text)) => format!("{code}: {text}"),
        (Some(code), None) => code,
        _ => match (html_title(message), http_status(err)) {
            (Some(title), Some(status)) if !title.contains(&status.to_string()) => {
                format!("HTTP {status}: {title}")
            }
            (Some(title), _) => title,
            (None, Some(status)) if message.trim().is_empty() => format!("HTTP {status}"),
            _ => full_text(err),
        },
    };
    // One line, single spaces.
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // Keep it to a line a person reads; ssh's log can be long.
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_error(kind: opendal::ErrorKind, code: &str) -> opendal::Error {
        opendal::Error::new(
            kind,
            format!(
                "S3Error {{ code: \"{code}\", message: \"something\", resource: \"\", request_id: \"1\" }}"
            ),
        )
    }

    #[test]
    fn store_codes_decide_the_class() {
        use opendal::ErrorKind::*;
        assert_eq!(
            classify(&s3_error(PermissionDenied, "SignatureDoesNotMatch")),
            Failure::Credentials
        );
        assert_eq!(
            classify(&s3_error(PermissionDenied, "InvalidAccessKeyId")),
            Failure::Credentials
        );
        assert_eq!(
            classify(&s3_error(ConfigInvalid, "NoSuchBucket")),
            Failure::MissingBucket
        );
        assert_eq!(
            classify(&s3_error(PermissionDenied, "AccessDenied")),
            Failure::PermissionDenied
        );
        assert_eq!(
            classify(&s3_error(Unexpected, "SlowDown")),
            Failure::Transient
        );
        assert_eq!(
            classify(&s3_error(NotFound, "NoSuchKey")),
            Failure::NotFound
        );
    }

    #[test]
    fn io_errors_in_the_chain_decide_the_class() {
        let refused = opendal::Error::new(opendal::ErrorKind::Unexpected, "send http request")
            .set_source(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused), Failure::Unreachable);
        let reset = opendal::Error::new(opendal::ErrorKind::Unexpected, "read body")
            .set_source(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&reset), Failure::Transient);
    }

    #[test]
    fn temporary_status_and_rate_limits_are_transient() {
        let temp = opendal::Error::new(opendal::ErrorKind::Unexpected, "timeout").set_temporary();
        assert_eq!(classify(&temp), Failure::Transient);
        let limited = opendal::Error::new(opendal::ErrorKind::RateLimited, "429");
        assert_eq!(classify(&limited), Failure::Transient);
        let other = opendal::Error::new(opendal::ErrorKind::Unsupported, "nope");
        assert_eq!(classify(&other), Failure::Other);
        assert!(!Failure::Other.is_transient());
        assert!(Failure::Unreachable.is_transient());
    }

    #[test]
    fn ssh_log_lines_are_recognised() {
        let denied = opendal::Error::new(opendal::ErrorKind::Unexpected, "ssh error").set_source(
            io::Error::other("root@127.0.0.1: Permission denied (publickey)."),
        );
        assert_eq!(classify(&denied), Failure::Credentials);
        let host = opendal::Error::new(opendal::ErrorKind::Unexpected, "ssh error")
            .set_source(io::Error::other("Host key verification failed."));
        assert_eq!(classify(&host), Failure::HostKey);
    }

    #[test]
    fn core_errors_are_transient_only_when_marked_or_typed() {
        let marked = dbward_core::Error::Destination {
            destination: "offsite".into(),
            reason: format!("cannot list: connection reset {TRANSIENT_MARK}"),
        };
        assert!(is_transient(&marked));
        let plain = dbward_core::Error::Destination {
            destination: "offsite".into(),
            reason: "bucket x does not exist".into(),
        };
        assert!(!is_transient(&plain));
        let io = dbward_core::Error::io(
            "cannot read",
            "/x",
            io::Error::from(io::ErrorKind::TimedOut),
        );
        assert!(is_transient(&io));
        let disk_full = dbward_core::Error::io(
            "cannot write",
            "/x",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(!is_transient(&disk_full));
    }

    fn http_error(status: u16, body: &str) -> opendal::Error {
        opendal::Error::new(opendal::ErrorKind::Unexpected, body).with_context(
            "response",
            format!("Parts {{ status: {status}, version: HTTP/1.1, headers: {{}} }}"),
        )
    }

    #[test]
    fn gcs_names_a_missing_bucket_in_its_message() {
        let err = http_error(
            404,
            "GcsError { error: GcsErrorDetail { code: 404, message: \"The specified bucket does not exist.\", errors: [] } }",
        );
        assert_eq!(classify(&err), Failure::MissingBucket);
    }

    #[test]
    fn a_bare_http_status_is_read_from_the_context() {
        let page = "<html>\n  <head><title>401 Access not authorized</title></head>\n</html>";
        let err = http_error(401, page);
        assert_eq!(http_status(&err), Some(401));
        assert_eq!(classify(&err), Failure::Credentials);
        assert_eq!(detail(&err), "401 Access not authorized");
        let err = http_error(403, "");
        assert_eq!(http_status(&err), Some(403));
        assert_eq!(detail(&err), "HTTP 403");
        let plain = opendal::Error::new(opendal::ErrorKind::Unexpected, "no response");
        assert_eq!(http_status(&plain), None);
    }

    #[test]
    fn detail_prefers_the_store_code_and_message() {
        let err = s3_error(opendal::ErrorKind::ConfigInvalid, "NoSuchBucket");
        assert_eq!(detail(&err), "NoSuchBucket: something");
        assert_eq!(
            error_code("<Error><Code>AccessDenied</Code></Error>").as_deref(),
            Some("AccessDenied")
        );
    }
}
