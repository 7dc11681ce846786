//! The HTTP transport of S3 destinations: OpenDAL's default transport with two additions
//! for buckets with S3 Object Lock.
//!
//! - **`Content-MD5` on PutObject.** A bucket with a default retention refuses an upload
//!   without `Content-MD5` or an `x-amz-checksum-*` header. OpenDAL sends
//!   `x-amz-checksum-crc32c` (the destination sets `checksum_algorithm = "crc32c"`, the only
//!   choice OpenDAL has that also does multipart uploads), which AWS accepts; moto (and S3
//!   implementations that follow AWS's older documentation) accept only `Content-MD5` (or
//!   the SDKs' `x-amz-sdk-checksum-algorithm`) on a single PutObject. So a PutObject (a PUT
//!   with a body checksum, not a part, not a copy) also gets `Content-MD5`, computed from the
//!   body, which is in memory (a single PUT is at most one `part_size`). It is added after
//!   SigV4 signing: S3 requires `host` and the `x-amz-*` headers to be signed, not
//!   `Content-MD5`, and still checks the body against it.
//! - **Lock headers of HEAD by version.** OpenDAL's metadata has no Object Lock fields, so a
//!   HEAD with `versionId` that answers `x-amz-object-lock-retain-until-date` leaves the mode
//!   and date here, for [`S3Transport::take_lock`] (how a refused delete says until when).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use opendal::{Buffer, HttpBody, HttpTransport, HttpTransporter};

/// The retention S3 reported for one object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// `GOVERNANCE` or `COMPLIANCE` (`None`: a legal hold only, or not said).
    pub mode: Option<String>,
    pub retain_until: Option<DateTime<Utc>>,
    /// `x-amz-object-lock-legal-hold: ON`.
    pub legal_hold: bool,
}

const CONTENT_MD5: http::HeaderName = http::HeaderName::from_static("content-md5");

/// Bound on remembered lock headers (taken again right after their HEAD).
const MAX_REMEMBERED: usize = 1024;

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct S3Transport {
    inner: HttpTransporter,
    locks: Arc<Mutex<HashMap<String, LockInfo>>>,
}

impl S3Transport {
    /// As a transport for an operator's context.
    pub fn transporter(&self) -> HttpTransporter {
        HttpTransporter::new(self.clone())
    }

    /// The lock headers of the last HEAD of `version`, once.
    pub fn take_lock(&self, version: &str) -> Option<LockInfo> {
        self.locks.lock().ok()?.remove(version)
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn content_md5(body: &Buffer) -> String {
    let mut md5 = Md5::new();
    for chunk in body.clone() {
        md5.update(&chunk);
    }
    crate::services::base64_encode(&md5.finalize())
}

fn lock_info(headers: &http::HeaderMap) -> Option<LockInfo> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mode = text("x-amz-object-lock-mode");
    let retain_until = text("x-amz-object-lock-retain-until-date")
        .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
        .map(|d| d.with_timezone(&Utc));
    let legal_hold = text("x-amz-object-lock-legal-hold").is_some_and(|v| v == "ON");
    (mode.is_some() || retain_until.is_some() || legal_hold).then_some(LockInfo {
        mode,
        retain_until,
        legal_hold,
    })
}

impl HttpTransport for S3Transport {
    async fn fetch(
        &self,
        mut req: http::Request<Buffer>,
    ) -> opendal::Result<http::Response<HttpBody>> {
        let query = req.uri().query().unwrap_or("").to_string();
        let headers = req.headers();
        let put_object = req.method() == http::Method::PUT
            && headers.contains_key("x-amz-checksum-crc32c")
            && !headers.contains_key(CONTENT_MD5)
            && !headers.contains_key("x-amz-copy-source")
            && query_param(&query, "partNumber").is_none();
        if put_object {
            let md5 = content_md5(req.body());
            if let Ok(value) = http::HeaderValue::from_str(&md5) {
                req.headers_mut().insert(CONTENT_MD5, value);
            }
        }
        let head_version = (req.method() == http::Method::HEAD)
            .then(|| query_param(&query, "versionId").map(str::to_string))
            .flatten();
        let resp = self.inner.fetch(req).await?;
        if let Some(version) = head_version
            && let Some(info) = lock_info(resp.headers())
            && let Ok(mut locks) = self.locks.lock()
        {
            if locks.len() >= MAX_REMEMBERED {
                locks.clear();
            }
            // The version id as sent (percent-encoded), which is how it is looked up.
            locks.insert(version, info);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_is_base64_of_the_body_md5() {
        assert_eq!(content_md5(&Buffer::new()), "1B2M2Y8AsgTpgAmY7PhCfg==");
        let body: Buffer = vec![
            bytes::Bytes::from_static(b"hello "),
            bytes::Bytes::from_static(b"world"),
        ]
        .into_iter()
        .collect();
        assert_eq!(content_md5(&body), "XrY7u+Ae7tCTyyK7j1rNww==");
    }

    #[test]
    fn lock_headers_are_read_and_query_parameters_found() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(lock_info(&headers), None);
        headers.insert("x-amz-object-lock-mode", "COMPLIANCE".parse().unwrap());
        headers.insert(
            "x-amz-object-lock-retain-until-date",
            "2026-12-27T09:14:02.000Z".parse().unwrap(),
        );
        let info = lock_info(&headers).unwrap();
        assert_eq!(info.mode.as_deref(), Some("COMPLIANCE"));
        assert_eq!(
            info.retain_until.unwrap().to_rfc3339(),
            "2026-12-27T09:14:02+00:00"
        );
        assert!(!info.legal_hold);
        assert_eq!(query_param("versionId=abc&x=1", "versionId"), Some("abc"));
        assert_eq!(query_param("partNumber=2&uploadId=u", "versionId"), None);
    }
}
