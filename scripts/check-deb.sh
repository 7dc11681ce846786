#!/usr/bin/env bash
# Installs a dbward Debian package on this machine with apt-get, checks what it put there,
# and removes it again: `dbward --version` runs, the man page and the bash completion load,
# the systemd unit is in place, and the dbward user owns a private /var/lib/dbward.
#
#   bash scripts/check-deb.sh target/debian/dbward_*.deb
#
# Needs root (or sudo). Fails, naming what is wrong, on the first problem.
set -euo pipefail
deb=${1:?usage: check-deb.sh PATH/TO/dbward_*.deb}
[[ -f $deb ]] || { echo "no package at $deb" >&2; exit 1; }
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install $deb" >&2; exit 1; }
  sudo=(sudo)
fi
fail() { echo "check-deb: $*" >&2; exit 1; }
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$(realpath "$deb")" >/dev/null
trap '"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q dbward >/dev/null' EXIT
version=$(/usr/bin/dbward --version) || fail "/usr/bin/dbward --version failed"
[[ $version == "dbward "* ]] || fail "unexpected version line: $version"
man -w dbward >/dev/null 2>&1 || [[ -f /usr/share/man/man1/dbward.1.gz ]] || fail "no man page"
zcat /usr/share/man/man1/dbward.1.gz | grep -q 'daemon' || fail "the man page does not name the daemon"
bash -c 'source /usr/share/bash-completion/completions/dbward && complete -p dbward' >/dev/null ||
  fail "the bash completion does not load"
[[ -f /usr/share/zsh/vendor-completions/_dbward ]] || fail "no zsh completion"
[[ -f /usr/share/fish/vendor_completions.d/dbward.fish ]] || fail "no fish completion"
grep -q '^ExecStart=/usr/bin/dbward ' /lib/systemd/system/dbward.service || fail "no systemd unit starting /usr/bin/dbward"
getent passwd dbward >/dev/null || fail "no dbward user"
[[ $(stat -c '%U %a' /var/lib/dbward) == "dbward 700" ]] || fail "/var/lib/dbward is not dbward's, mode 0700"
echo "ok    $(basename "$deb"): $version, man page, completions (bash, zsh, fish), systemd unit, dbward user"
