//! `[[destination]]` as written and its validation into `DestinationConfig`: the keys each
//! `type` takes, their defaults, upload tuning and the service settings.

use std::path::Path;

use dbward_core::secret::SecretString;
use dbward_destination::{
    AzblobSettings, GcsSettings, KnownHosts, S3Settings, SftpSettings, Tuning, WebdavSettings,
};
use serde::Deserialize;

use super::raw::{anchored, at};
use super::secret::{Deferred, SecretRef};
use super::{DestinationConfig, DestinationKind, VerifyUpload, parse_size};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDestination {
    pub(super) name: String,
    #[serde(rename = "type")]
    kind: String,
    verify_upload: Option<String>,
    // fs
    path: Option<String>,
    // s3, gcs, azblob
    bucket: Option<String>,
    container: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    prefix: Option<String>,
    pub(super) access_key_id: Option<SecretRef>,
    pub(super) secret_access_key: Option<SecretRef>,
    path_style: Option<bool>,
    pub(super) credential: Option<SecretRef>,
    credential_path: Option<String>,
    anonymous: Option<bool>,
    account_name: Option<String>,
    pub(super) account_key: Option<SecretRef>,
    pub(super) sas_token: Option<SecretRef>,
    // sftp, webdav
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    key_file: Option<String>,
    root: Option<String>,
    known_hosts: Option<String>,
    username: Option<String>,
    pub(super) password: Option<SecretRef>,
    pub(super) token: Option<SecretRef>,
    // uploads
    part_size: Option<String>,
    upload_concurrency: Option<usize>,
}

impl RawDestination {
    /// The keys that are set, for the "not used by type" check.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut mark = |key: &'static str, set: bool| {
            if set {
                keys.push(key);
            }
        };
        mark("path", self.path.is_some());
        mark("bucket", self.bucket.is_some());
        mark("container", self.container.is_some());
        mark("endpoint", self.endpoint.is_some());
        mark("region", self.region.is_some());
        mark("prefix", self.prefix.is_some());
        mark("access_key_id", self.access_key_id.is_some());
        mark("secret_access_key", self.secret_access_key.is_some());
        mark("path_style", self.path_style.is_some());
        mark("credential", self.credential.is_some());
        mark("credential_path", self.credential_path.is_some());
        mark("anonymous", self.anonymous.is_some());
        mark("account_name", self.account_name.is_some());
        mark("account_key", self.account_key.is_some());
        mark("sas_token", self.sas_token.is_some());
        mark("host", self.host.is_some());
        mark("port", self.port.is_some());
        mark("user", self.user.is_some());
        mark("key_file", self.key_file.is_some());
        mark("root", self.root.is_some());
        mark("known_hosts", self.known_hosts.is_some());
        mark("username", self.username.is_some());
        mark("password", self.password.is_some());
        mark("token", self.token.is_some());
        mark("part_size", self.part_size.is_some());
        mark("upload_concurrency", self.upload_concurrency.is_some());
        keys
    }
}

pub(super) fn validate_destination(
    d: RawDestination,
    base: &Path,
    deferred: &Deferred,
) -> Result<DestinationConfig, String> {
    let key = |k: &str| at("destination", &d.name, k);
    let allowed: &[&str] = match d.kind.as_str() {
        "fs" => &["path"],
        "s3" => &[
            "bucket",
            "endpoint",
            "region",
            "prefix",
            "access_key_id",
            "secret_access_key",
            "path_style",
            "part_size",
            "upload_concurrency",
        ],
        "sftp" => &[
            "host",
            "port",
            "user",
            "key_file",
            "root",
            "known_hosts",
            "part_size",
        ],
        "gcs" => &[
            "bucket",
            "prefix",
            "credential",
            "credential_path",
            "anonymous",
            "endpoint",
            "part_size",
            "upload_concurrency",
        ],
        "azblob" => &[
            "container",
            "endpoint",
            "prefix",
            "account_name",
            "account_key",
            "sas_token",
            "part_size",
            "upload_concurrency",
        ],
        "webdav" => &["endpoint", "root", "username", "password", "token"],
        other => {
            return Err(format!(
                "{}: unknown type {other:?}; expected \"fs\", \"s3\", \"sftp\", \"gcs\", \"azblob\" or \"webdav\"",
                key("type")
            ));
        }
    };
    if let Some(extra) = d.set_keys().into_iter().find(|k| !allowed.contains(k)) {
        return Err(format!(
            "{}: not used by type {:?}; remove it",
            key(extra),
            d.kind
        ));
    }
    let required = |k: &str, v: &Option<String>| -> Result<String, String> {
        v.clone()
            .ok_or_else(|| format!("{}: required for type {:?}", key(k), d.kind))
    };
    let secret = |k: &str, v: &Option<SecretRef>| -> Option<SecretString> {
        v.as_ref().map(|s| deferred.resolve(s, base, &key(k)))
    };
    let mut tuning = Tuning::default();
    if let Some(size) = &d.part_size {
        tuning.part_size = parse_size(size).map_err(|e| format!("{}: {e}", key("part_size")))?;
    }
    if let Some(n) = d.upload_concurrency {
        if n == 0 {
            return Err(format!(
                "{}: expected at least 1",
                key("upload_concurrency")
            ));
        }
        tuning.upload_concurrency = n;
    }
    let name = d.name.clone();
    let kind = match d.kind.as_str() {
        "fs" => DestinationKind::Fs {
            path: anchored(base, &required("path", &d.path)?),
        },
        "s3" => DestinationKind::S3(S3Settings {
            name,
            bucket: required("bucket", &d.bucket)?,
            path_style: d.path_style.unwrap_or(d.endpoint.is_some()),
            endpoint: d.endpoint.clone(),
            region: d.region.clone(),
            prefix: d.prefix.clone().unwrap_or_default(),
            access_key_id: secret("access_key_id", &d.access_key_id),
            secret_access_key: secret("secret_access_key", &d.secret_access_key),
            tuning,
        }),
        "sftp" => DestinationKind::Sftp(SftpSettings {
            name,
            host: required("host", &d.host)?,
            port: d.port,
            user: required("user", &d.user)?,
            key_file: d.key_file.as_deref().map(|p| anchored(base, p)),
            root: d.root.clone().unwrap_or_else(|| "/".into()),
            known_hosts: match d.known_hosts.as_deref() {
                None => KnownHosts::Strict,
                Some(v) => KnownHosts::parse(v).ok_or_else(|| {
                    format!(
                        "{}: expected \"strict\", \"accept-new\" or \"accept-any\", found {v:?}",
                        key("known_hosts")
                    )
                })?,
            },
            tuning,
        }),
        "gcs"
            if d.anonymous == Some(true)
                && (d.credential.is_some() || d.credential_path.is_some()) =>
        {
            return Err(format!(
                "{}: unsigned requests take no credential or credential_path; remove one or the other",
                key("anonymous")
            ));
        }
        "gcs" => DestinationKind::Gcs(GcsSettings {
            name,
            bucket: required("bucket", &d.bucket)?,
            prefix: d.prefix.clone().unwrap_or_default(),
            credential: secret("credential", &d.credential),
            credential_path: d.credential_path.as_deref().map(|p| anchored(base, p)),
            endpoint: d.endpoint.clone(),
            anonymous: d.anonymous.unwrap_or(false),
            tuning,
        }),
        "azblob" => DestinationKind::Azblob(AzblobSettings {
            name,
            container: required("container", &d.container)?,
            endpoint: required("endpoint", &d.endpoint)?,
            prefix: d.prefix.clone().unwrap_or_default(),
            account_name: d.account_name.clone(),
            account_key: secret("account_key", &d.account_key),
            sas_token: secret("sas_token", &d.sas_token),
            tuning,
        }),
        _ => DestinationKind::Webdav(WebdavSettings {
            name,
            endpoint: required("endpoint", &d.endpoint)?,
            root: d.root.clone().unwrap_or_else(|| "/".into()),
            username: d.username.clone(),
            password: secret("password", &d.password),
            token: secret("token", &d.token),
            tuning,
        }),
    };
    let verify_upload = match d.verify_upload.as_deref() {
        None | Some("size") => VerifyUpload::Size,
        Some("checksum") => VerifyUpload::Checksum,
        Some(other) => {
            return Err(format!(
                "{}: expected \"size\" or \"checksum\", found {other:?}",
                key("verify_upload")
            ));
        }
    };
    Ok(DestinationConfig {
        name: d.name,
        kind,
        verify_upload,
    })
}
