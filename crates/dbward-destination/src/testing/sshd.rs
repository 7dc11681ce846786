//! A throwaway OpenSSH server: `/usr/sbin/sshd` (Debian's openssh-server) on a free loopback
//! port, with a generated host key, a generated user key authorised for the current user, an
//! `sshd_config` in a temporary directory and the internal SFTP server. Killed on drop.
//!
//! The ssh client that OpenDAL drives checks host keys against the current user's
//! `~/.ssh/known_hosts` and offers no way to point it elsewhere, so the server's key is added
//! there as `[127.0.0.1]:PORT` (under a file lock, for tests running side by side) and that
//! line removed again on drop.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::services::{KnownHosts, SftpSettings};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd.
#[derive(Debug)]
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    user: String,
    host_entry: String,
    known_hosts: PathBuf,
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "dbward-test", "-f"])
        .arg(path));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Sshd {
    /// Starts sshd; panics with what to install when OpenSSH is missing.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} not found: install Debian's openssh-server and openssh-client (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path();
        keygen(&path.join("host_ed25519"));
        keygen(&path.join("user_ed25519"));
        keygen(&path.join("stranger_ed25519"));
        fs::copy(path.join("user_ed25519.pub"), path.join("authorized_keys"))
            .expect("authorized_keys");
        fs::create_dir_all(path.join("data")).expect("data folder");
        // sshd started as root insists on its privilege separation folder.
        let _ = fs::create_dir_all("/run/sshd");

        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .expect("the current user has a passwd entry");
        let port = free_port();
        let config = format!(
            "Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {dir}/host_ed25519\n\
             PidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             StrictModes no\n\
             UsePAM no\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             AllowUsers {user}\n\
             Subsystem sftp internal-sftp\n\
             LogLevel VERBOSE\n",
            dir = path.display(),
            user = user.name,
        );
        fs::write(path.join("sshd_config"), config).expect("sshd_config");

        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(path.join("sshd_config"))
            .arg("-E")
            .arg(path.join("sshd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");

        let host_pub = fs::read_to_string(path.join("host_ed25519.pub")).expect("host key");
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let host_entry = format!("[127.0.0.1]:{port} {}", key.join(" "));
        let ssh_dir = user.dir.join(".ssh");
        let mut sshd = Sshd {
            dir,
            child,
            port,
            user: user.name.clone(),
            host_entry,
            known_hosts: ssh_dir.join("known_hosts"),
        };
        sshd.wait_ready();
        sshd.trust_host_key(true);
        sshd
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited ({status}): {}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen within 15 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Adds (or removes) this server's line in the user's known_hosts.
    fn trust_host_key(&self, add: bool) {
        let ssh_dir = self.known_hosts.parent().expect("~/.ssh");
        if !ssh_dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            let _ = fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(ssh_dir);
        }
        let lock = File::create(ssh_dir.join(".dbward-test-known-hosts.lock")).expect("lock file");
        lock.lock().expect("lock known_hosts");
        let marker = format!("[127.0.0.1]:{} ", self.port);
        let existing = fs::read_to_string(&self.known_hosts).unwrap_or_default();
        // Drop any line for this port: a leftover of an earlier server with another key.
        let mut kept: Vec<&str> = existing
            .lines()
            .filter(|line| !line.starts_with(&marker))
            .collect();
        if add {
            kept.push(&self.host_entry);
        }
        let staged = ssh_dir.join(format!(".known_hosts.dbward-{}", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&staged)
            .expect("write known_hosts");
        for line in kept {
            writeln!(file, "{line}").expect("write known_hosts");
        }
        drop(file);
        fs::rename(&staged, &self.known_hosts).expect("replace known_hosts");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login user (the one running the tests).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The private key the server accepts.
    pub fn user_key(&self) -> PathBuf {
        self.dir.path().join("user_ed25519")
    }

    /// A private key the server does not accept.
    pub fn stranger_key(&self) -> PathBuf {
        self.dir.path().join("stranger_ed25519")
    }

    /// An empty folder for the destination's root.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Settings for a destination rooted at `data_dir()`, strict host key checking.
    pub fn settings(&self, name: &str) -> SftpSettings {
        SftpSettings {
            name: name.into(),
            host: "127.0.0.1".into(),
            port: Some(self.port),
            user: self.user.clone(),
            key_file: Some(self.user_key()),
            root: self.data_dir().to_string_lossy().into_owned(),
            known_hosts: KnownHosts::Strict,
            tuning: Default::default(),
        }
    }

    /// sshd's log, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Process ids whose parent is `parent` (sshd's per-connection processes).
    fn children_of(parent: u32) -> Vec<i32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|stat| {
                        // Field 4, after the parenthesised command name.
                        let rest = &stat[stat.rfind(')')? + 2..];
                        rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                    })
                    == Some(parent)
            })
            .collect()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        // End the sessions first (their ssh masters then exit), then the listener.
        for pid in Self::children_of(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.trust_host_key(false);
    }
}
