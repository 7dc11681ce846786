//! Typed settings and constructors of the remote destinations. Each constructor validates
//! its settings, builds an OpenDAL operator and returns an [`OpenDalDestination`]; secrets
//! are held in `SecretString` (never in `Debug`, errors or `location()`).
//!
//! ```ignore
//! let dest = OpenDalDestination::s3(S3Settings { name: "offsite".into(), bucket: "db".into(), ..S3Settings::default() })?;
//! let dest = Retrying::new(Arc::new(dest), RetryPolicy::default());
//! ```

use std::path::PathBuf;

use dbward_core::secret::{ExposeSecret, SecretString};
use dbward_core::{Error, Result};
use opendal::{OperationContext, Operator};

use crate::remote::{MAX_PART_SIZE, MIN_PART_SIZE, OpenDalDestination, Service, Staging, Tuning};
use crate::s3_http::S3Transport;

/// An S3-compatible bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub name: String,
    pub bucket: String,
    /// `https://s3.example.com`; `None` is AWS (from the region).
    pub endpoint: Option<String>,
    /// `None`: `us-east-1`, which is what most S3-compatible servers expect.
    pub region: Option<String>,
    /// Folder inside the bucket, e.g. `prod/`; empty for the bucket's top.
    pub prefix: String,
    /// With both keys unset, the AWS environment / profile / instance credentials are used.
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
    /// `true`: `endpoint/bucket/key` (MinIO, Ceph, most self-hosted); `false`:
    /// `bucket.endpoint/key` (AWS's default).
    pub path_style: bool,
    pub tuning: Tuning,
}

/// How the SSH client treats the server's host key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KnownHosts {
    /// The key must already be in known_hosts (`StrictHostKeyChecking=yes`). Safe default.
    #[default]
    Strict,
    /// Trust and record a host never seen; refuse a changed key (`accept-new`).
    AcceptNew,
    /// Accept any key, even a changed one (`no`): open to a man in the middle.
    AcceptAny,
}

impl KnownHosts {
    /// Parses the config spelling: `strict`, `accept-new`, `accept-any`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "strict" => Some(KnownHosts::Strict),
            "accept-new" => Some(KnownHosts::AcceptNew),
            "accept-any" => Some(KnownHosts::AcceptAny),
            _ => None,
        }
    }

    fn opendal_name(self) -> &'static str {
        match self {
            KnownHosts::Strict => "strict",
            KnownHosts::AcceptNew => "add",
            KnownHosts::AcceptAny => "accept",
        }
    }
}

/// A directory on an SSH server, reached with the system's `ssh` client (OpenSSH's
/// ControlMaster; the client must be installed) and key authentication only. The host key is
/// checked against the known_hosts files of the user running dbward (`~/.ssh/known_hosts`,
/// `/etc/ssh/ssh_known_hosts`); their `~/.ssh/config` applies too.
#[derive(Debug, Clone, Default)]
pub struct SftpSettings {
    pub name: String,
    pub host: String,
    /// `None`: 22 (or what `~/.ssh/config` says).
    pub port: Option<u16>,
    pub user: String,
    /// Private key; `None`: the ssh client's defaults and agent.
    pub key_file: Option<PathBuf>,
    /// Directory on the server (absolute, or relative to the login directory); created when
    /// missing.
    pub root: String,
    pub known_hosts: KnownHosts,
    pub tuning: Tuning,
}

/// A Google Cloud Storage bucket.
#[derive(Debug, Clone, Default)]
pub struct GcsSettings {
    pub name: String,
    pub bucket: String,
    pub prefix: String,
    /// Service account JSON (the file's contents); `None` with `credential_path` unset: the
    /// environment's default credentials.
    pub credential: Option<SecretString>,
    /// Path of a service account JSON file.
    pub credential_path: Option<PathBuf>,
    /// For emulators and private endpoints.
    pub endpoint: Option<String>,
    /// Unsigned requests: a public bucket, or an emulator that checks no credentials.
    /// `credential` and `credential_path` must then be unset.
    pub anonymous: bool,
    pub tuning: Tuning,
}

/// An Azure Blob Storage container.
#[derive(Debug, Clone, Default)]
pub struct AzblobSettings {
    pub name: String,
    pub container: String,
    /// `https://<account>.blob.core.windows.net`.
    pub endpoint: String,
    pub prefix: String,
    pub account_name: Option<String>,
    pub account_key: Option<SecretString>,
    pub sas_token: Option<SecretString>,
    pub tuning: Tuning,
}

/// A WebDAV collection. Uploads are sent in one PUT and so are held in memory, up to
/// `tuning.max_buffered_bytes`.
#[derive(Debug, Clone, Default)]
pub struct WebdavSettings {
    pub name: String,
    /// `https://dav.example.com/remote.php/dav/files/backup`, without credentials.
    pub endpoint: String,
    pub root: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Bearer token, instead of username and password.
    pub token: Option<SecretString>,
    pub tuning: Tuning,
}

fn config_error(name: &str, reason: String) -> Error {
    Error::Destination {
        destination: name.to_string(),
        reason,
    }
}

/// Builds an operator, first making sure OpenDAL has its HTTP transport (reqwest) and
/// rustls its process-wide provider (ring): the transport is built without a provider of
/// its own, so that one TLS stack serves the whole binary.
fn new_operator(builder: impl opendal::Builder) -> opendal::Result<Operator> {
    static TRANSPORT: std::sync::Once = std::sync::Once::new();
    dbward_core::tls::install_crypto_provider();
    TRANSPORT.call_once(opendal_http_transport_reqwest::install_default);
    Operator::new(builder)
}

fn build_error(name: &str, err: opendal::Error) -> Error {
    config_error(
        name,
        format!("invalid settings: {}", crate::failure::detail(&err)),
    )
}

fn check_tuning(name: &str, tuning: &Tuning) -> Result<()> {
    if tuning.part_size < MIN_PART_SIZE || tuning.part_size as u64 > MAX_PART_SIZE {
        return Err(config_error(
            name,
            format!(
                "part_size = {} is outside what S3 allows (5 MiB to 5 GiB)",
                tuning.part_size
            ),
        ));
    }
    if tuning.upload_concurrency == 0 {
        return Err(config_error(
            name,
            "upload_concurrency must be at least 1".into(),
        ));
    }
    Ok(())
}

/// `prod` / `/prod/` / `prod/` → `/prod/`, the form OpenDAL roots take.
fn root_of(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}/")
    }
}

/// Refuses an endpoint with `user:password@` in it: it would end up in messages.
fn check_endpoint(name: &str, endpoint: &str) -> Result<()> {
    let after_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err(config_error(
            name,
            "the endpoint holds credentials (user@ or user:password@); give them in their own settings".into(),
        ));
    }
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(config_error(
            name,
            format!("endpoint {endpoint:?} must start with http:// or https://"),
        ));
    }
    Ok(())
}

/// The service account key as OpenDAL takes it: base64 of the JSON. OpenDAL silently ignores
/// a `credential` that is not base64 (and falls back to the environment's credentials), so
/// the JSON itself (what `credential` holds) is encoded here and anything else refused.
fn gcs_credential(name: &str, credential: &str) -> Result<String> {
    let text = credential.trim();
    if text.starts_with('{') {
        return Ok(base64_encode(text.as_bytes()));
    }
    let base64_alphabet = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    if !text.is_empty() && text.chars().all(base64_alphabet) {
        return Ok(text.to_string());
    }
    Err(config_error(
        name,
        "credential must be a service account key: the JSON file's contents (or them base64-encoded)".into(),
    ))
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl OpenDalDestination {
    /// An S3-compatible bucket; uploads go straight to the key as multipart uploads.
    pub fn s3(settings: S3Settings) -> Result<Self> {
        let name = settings.name.as_str();
        opendal::install_default();
        check_tuning(name, &settings.tuning)?;
        if settings.bucket.is_empty() {
            return Err(config_error(name, "bucket is empty".into()));
        }
        let region = settings.region.as_deref().unwrap_or("us-east-1");
        let mut builder = opendal::services::S3::default()
            .bucket(&settings.bucket)
            .root(&root_of(&settings.prefix))
            .region(region)
            // A CRC32C of every PutObject and UploadPart body in `x-amz-checksum-crc32c`
            // (and the algorithm on CreateMultipartUpload): AWS refuses uploads into a bucket
            // with Object Lock without a `Content-MD5` or `x-amz-checksum-*` header, and the
            // server checks the bytes it received against it. OpenDAL's other choice, "md5",
            // cannot do multipart uploads.
            .checksum_algorithm("crc32c");
        if let Some(endpoint) = &settings.endpoint {
            check_endpoint(name, endpoint)?;
            builder = builder.endpoint(endpoint);
        }
        if !settings.path_style {
            builder = builder.enable_virtual_host_style();
        }
        match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .access_key_id(id.expose_secret())
                    .secret_access_key(secret.expose_secret())
                    // Only the configured keys: no ~/.aws, no instance metadata.
                    .disable_config_load()
                    .disable_ec2_metadata();
            }
            (None, None) => {}
            _ => {
                return Err(config_error(
                    name,
                    "access_key_id and secret_access_key go together: set both or neither".into(),
                ));
            }
        }
        let transport = S3Transport::default();
        let op = new_operator(builder)
            .map_err(|e| build_error(name, e))?
            .with_context(OperationContext::new().with_http_transport(transport.transporter()));
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS {region}"));
        let location = format!(
            "s3://{}{} ({endpoint})",
            settings.bucket,
            root_of(&settings.prefix).trim_end_matches('/')
        );
        Ok(OpenDalDestination::from_operator(
            name,
            location,
            Service::S3,
            Some(settings.bucket.clone()),
            Staging::Direct,
            settings.tuning,
            op,
        )
        .with_s3_transport(transport))
    }

    /// A directory over SFTP; uploads are staged and renamed into place.
    pub fn sftp(settings: SftpSettings) -> Result<Self> {
        let name = settings.name.as_str();
        opendal::install_default();
        check_tuning(name, &settings.tuning)?;
        if settings.host.is_empty() || settings.user.is_empty() {
            return Err(config_error(name, "host and user are required".into()));
        }
        if settings.host.contains(['@', '/', ' ']) {
            return Err(config_error(
                name,
                format!(
                    "host {:?} must be a bare host name or address",
                    settings.host
                ),
            ));
        }
        if let Some(key) = &settings.key_file
            && !key.is_file()
        {
            return Err(config_error(
                name,
                format!("key_file {} is not a readable file", key.display()),
            ));
        }
        let host = if settings.host.contains(':') {
            format!("[{}]", settings.host) // IPv6 literal
        } else {
            settings.host.clone()
        };
        let endpoint = match settings.port {
            Some(port) => format!("ssh://{}@{host}:{port}", settings.user),
            None => format!("ssh://{}@{host}", settings.user),
        };
        let root = if settings.root.is_empty() {
            ".".to_string()
        } else {
            settings.root.clone()
        };
        let mut builder = opendal::services::Sftp::default()
            .endpoint(&endpoint)
            .user(&settings.user)
            .root(&root)
            .known_hosts_strategy(settings.known_hosts.opendal_name());
        if let Some(key) = &settings.key_file {
            builder = builder.key(&key.to_string_lossy());
        }
        let op = new_operator(builder).map_err(|e| build_error(name, e))?;
        let location = format!(
            "{endpoint}/{}",
            root.trim_start_matches('/').trim_end_matches('/')
        )
        .replacen("ssh://", "sftp://", 1);
        Ok(OpenDalDestination::from_operator(
            name,
            location,
            Service::Sftp,
            None,
            Staging::Rename,
            settings.tuning,
            op,
        ))
    }

    /// A Google Cloud Storage bucket; uploads go straight to the key as a resumable upload
    /// session of 8 MiB chunks (JSON API), invisible until finalized. Requests are signed
    /// with `credential`, `credential_path`, or the environment's default credentials; with
    /// `anonymous`, not at all.
    pub fn gcs(settings: GcsSettings) -> Result<Self> {
        let name = settings.name.as_str();
        opendal::install_default();
        check_tuning(name, &settings.tuning)?;
        if settings.bucket.is_empty() {
            return Err(config_error(name, "bucket is empty".into()));
        }
        let mut builder = opendal::services::Gcs::default()
            .bucket(&settings.bucket)
            .root(&root_of(&settings.prefix));
        if settings.anonymous {
            if settings.credential.is_some() || settings.credential_path.is_some() {
                return Err(config_error(
                    name,
                    "unsigned requests take no credential or credential_path".into(),
                ));
            }
            builder = builder
                .skip_signature()
                .disable_config_load()
                .disable_vm_metadata();
        }
        if let Some(credential) = &settings.credential {
            builder = builder.credential(&gcs_credential(name, credential.expose_secret())?);
        }
        if let Some(path) = &settings.credential_path {
            if !path.is_file() {
                return Err(config_error(
                    name,
                    format!("credential_path {} is not a readable file", path.display()),
                ));
            }
            builder = builder.credential_path(&path.to_string_lossy());
        }
        if let Some(endpoint) = &settings.endpoint {
            check_endpoint(name, endpoint)?;
            builder = builder.endpoint(endpoint.trim_end_matches('/'));
        }
        let op = new_operator(builder).map_err(|e| build_error(name, e))?;
        let mut location = format!(
            "gs://{}{}",
            settings.bucket,
            root_of(&settings.prefix).trim_end_matches('/')
        );
        if let Some(endpoint) = &settings.endpoint {
            location = format!("{location} ({})", endpoint.trim_end_matches('/'));
        }
        Ok(OpenDalDestination::from_operator(
            name,
            location,
            Service::Gcs,
            Some(settings.bucket.clone()),
            Staging::Direct,
            settings.tuning,
            op,
        ))
    }

    /// An Azure Blob container; uploads go straight to the key as uncommitted blocks.
    pub fn azblob(settings: AzblobSettings) -> Result<Self> {
        let name = settings.name.as_str();
        opendal::install_default();
        check_tuning(name, &settings.tuning)?;
        if settings.container.is_empty() {
            return Err(config_error(name, "container is empty".into()));
        }
        check_endpoint(name, &settings.endpoint)?;
        let mut builder = opendal::services::Azblob::default()
            .container(&settings.container)
            .endpoint(&settings.endpoint)
            .root(&root_of(&settings.prefix));
        if let Some(account) = &settings.account_name {
            builder = builder.account_name(account);
        }
        if let Some(key) = &settings.account_key {
            builder = builder.account_key(key.expose_secret());
        }
        if let Some(sas) = &settings.sas_token {
            builder = builder.sas_token(sas.expose_secret());
        }
        let op = new_operator(builder).map_err(|e| build_error(name, e))?;
        let location = format!(
            "azblob://{}{} ({})",
            settings.container,
            root_of(&settings.prefix).trim_end_matches('/'),
            settings.endpoint
        );
        Ok(OpenDalDestination::from_operator(
            name,
            location,
            Service::Azblob,
            Some(settings.container.clone()),
            Staging::Direct,
            settings.tuning,
            op,
        ))
    }

    /// A WebDAV collection; uploads are staged and moved into place, each held in memory up
    /// to `tuning.max_buffered_bytes` (OpenDAL sends a WebDAV object in one PUT).
    pub fn webdav(settings: WebdavSettings) -> Result<Self> {
        let name = settings.name.as_str();
        opendal::install_default();
        check_endpoint(name, &settings.endpoint)?;
        let mut builder = opendal::services::Webdav::default()
            .endpoint(&settings.endpoint)
            .root(&root_of(&settings.root));
        if let Some(user) = &settings.username {
            builder = builder.username(user);
        }
        if let Some(password) = &settings.password {
            builder = builder.password(password.expose_secret());
        }
        if let Some(token) = &settings.token {
            builder = builder.token(token.expose_secret());
        }
        let op = new_operator(builder).map_err(|e| build_error(name, e))?;
        let location = format!(
            "webdav:{}{}",
            settings.endpoint.trim_end_matches('/'),
            root_of(&settings.root).trim_end_matches('/')
        );
        Ok(OpenDalDestination::from_operator(
            name,
            location,
            Service::Webdav,
            None,
            Staging::Rename,
            settings.tuning,
            op,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbward_core::destination::Destination;

    fn secret(s: &str) -> Option<SecretString> {
        Some(SecretString::from(s.to_string()))
    }

    #[test]
    fn secrets_stay_out_of_debug_and_location() {
        let settings = S3Settings {
            name: "offsite".into(),
            bucket: "db".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            prefix: "prod/".into(),
            access_key_id: secret("AKIDSECRETVALUE"),
            secret_access_key: secret("TOPSECRETKEY"),
            path_style: true,
            ..S3Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("TOPSECRETKEY") && !shown.contains("AKIDSECRETVALUE"));
        let dest = OpenDalDestination::s3(settings).unwrap();
        let shown = format!("{dest:?} {}", dest.location());
        assert!(!shown.contains("TOPSECRETKEY") && !shown.contains("AKIDSECRETVALUE"));
        assert_eq!(dest.location(), "s3://db/prod (http://127.0.0.1:9000)");
    }

    #[test]
    fn settings_are_checked() {
        let half = S3Settings {
            name: "x".into(),
            bucket: "b".into(),
            access_key_id: secret("a"),
            ..S3Settings::default()
        };
        assert!(OpenDalDestination::s3(half).is_err());
        let tiny_parts = S3Settings {
            name: "x".into(),
            bucket: "b".into(),
            tuning: Tuning {
                part_size: 1024,
                ..Tuning::default()
            },
            ..S3Settings::default()
        };
        let err = OpenDalDestination::s3(tiny_parts).unwrap_err().to_string();
        assert!(err.contains("part_size"), "{err}");
        let creds_in_url = WebdavSettings {
            name: "dav".into(),
            endpoint: "https://bob:hunter2@dav.example.com".into(),
            ..WebdavSettings::default()
        };
        let err = OpenDalDestination::webdav(creds_in_url)
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("hunter2") && err.contains("credentials"),
            "{err}"
        );
    }

    /// An S3 destination with default tuning (nothing is contacted).
    fn s3_with_defaults() -> OpenDalDestination {
        OpenDalDestination::s3(S3Settings {
            name: "x".into(),
            bucket: "b".into(),
            endpoint: Some("http://127.0.0.1:1".into()),
            path_style: true,
            ..S3Settings::default()
        })
        .unwrap()
    }

    #[test]
    fn default_part_size_covers_150_gib() {
        let dest = s3_with_defaults();
        assert!(dest.max_object_bytes() >= 150 * (1 << 30));
    }

    #[test]
    fn parts_grow_so_that_twice_the_last_backup_fits() {
        let dest = s3_with_defaults();
        const MIB: u64 = 1 << 20;
        const GIB: u64 = 1 << 30;
        let cases = [
            (None, 16 * MIB),
            (Some(0), 16 * MIB),
            (Some(78 * GIB), 16 * MIB),
            // 2 × 100 GiB in 10,000 parts needs 20.48 MiB: 21 MiB.
            (Some(100 * GIB), 21 * MIB),
            (Some(1 << 40), 210 * MIB),
            (Some(u64::MAX), 5 * GIB),
        ];
        for (expected, part) in cases {
            assert_eq!(dest.part_size_for(expected) as u64, part, "{expected:?}");
        }
    }

    #[test]
    fn every_service_builds_and_hides_its_secrets() {
        let gcs = OpenDalDestination::gcs(GcsSettings {
            name: "g".into(),
            bucket: "bk".into(),
            prefix: "p".into(),
            credential: secret("GCSSECRET"),
            ..GcsSettings::default()
        })
        .unwrap();
        assert_eq!(gcs.location(), "gs://bk/p");
        let az = OpenDalDestination::azblob(AzblobSettings {
            name: "a".into(),
            container: "c".into(),
            endpoint: "https://acct.blob.core.windows.net".into(),
            account_name: Some("acct".into()),
            account_key: secret("QVpTRUNSRVQ="),
            ..AzblobSettings::default()
        })
        .unwrap();
        assert_eq!(
            az.location(),
            "azblob://c (https://acct.blob.core.windows.net)"
        );
        let dav = OpenDalDestination::webdav(WebdavSettings {
            name: "d".into(),
            endpoint: "https://dav.example.com/files".into(),
            root: "backups".into(),
            username: Some("bob".into()),
            password: secret("DAVSECRET"),
            ..WebdavSettings::default()
        })
        .unwrap();
        assert_eq!(
            dav.location(),
            "webdav:https://dav.example.com/files/backups"
        );
        let shown = format!("{gcs:?}{az:?}{dav:?}");
        for secret in ["GCSSECRET", "QVpTRUNSRVQ=", "DAVSECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn gcs_credential_json_is_base64_encoded_for_opendal() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"{\"type\":1}"), "eyJ0eXBlIjoxfQ==");
        assert_eq!(
            gcs_credential("g", " {\"type\":1}\n").unwrap(),
            "eyJ0eXBlIjoxfQ=="
        );
        assert_eq!(
            gcs_credential("g", "eyJ0eXBlIjoxfQ==").unwrap(),
            "eyJ0eXBlIjoxfQ=="
        );
        let err = gcs_credential("g", "not json, not base64")
            .unwrap_err()
            .to_string();
        assert!(err.contains("service account key"), "{err}");
        assert!(!err.contains("not json"), "{err}");
    }

    #[test]
    fn gcs_anonymous_takes_no_credential() {
        let settings = GcsSettings {
            name: "g".into(),
            bucket: "bk".into(),
            endpoint: Some("http://127.0.0.1:4443".into()),
            anonymous: true,
            ..GcsSettings::default()
        };
        let dest = OpenDalDestination::gcs(settings.clone()).unwrap();
        assert_eq!(dest.location(), "gs://bk (http://127.0.0.1:4443)");
        let signed = GcsSettings {
            credential: secret("GCSSECRET"),
            ..settings
        };
        let err = OpenDalDestination::gcs(signed).unwrap_err().to_string();
        assert!(err.contains("unsigned"), "{err}");
        assert!(!err.contains("GCSSECRET"), "{err}");
    }

    #[test]
    fn known_hosts_spellings() {
        assert_eq!(KnownHosts::parse("strict"), Some(KnownHosts::Strict));
        assert_eq!(KnownHosts::parse("accept-new"), Some(KnownHosts::AcceptNew));
        assert_eq!(KnownHosts::parse("accept-any"), Some(KnownHosts::AcceptAny));
        assert_eq!(KnownHosts::parse("yes"), None);
    }
}
