# shellcheck shell=bash
# Test tools that are not Debian packages: the protocol emulators the destination adapters are
# tested against (crates/dbward-destination/tests/{azblob,webdav,gcs,s3_object_lock}.rs).
#
#   source scripts/lib/test-tools.sh     # from scripts/test.sh, or by hand before `cargo test`
#
# Installs, only when missing, into ${CARGO_TARGET_DIR:-target}/test-tools/:
#   venv/  a Python venv with wsgidav + cheroot (WebDAV), gcp-storage-emulator (GCS),
#          moto[server] (S3 with versioning and Object Lock; boto3 comes with it) and
#          aiosmtpd (an SMTP server for email alerts)
#   npm/   an npm prefix with azurite@3 (Azure Blob), and playwright-core and axe-core for
#          the dashboard's browser test (tests/cli/web.rs drives Debian's chromium with them)
# and exports the paths the test helpers read (crates/dbward-destination/src/testing/,
# tests/cli/web.rs):
#   DBWARD_TEST_WSGIDAV, DBWARD_TEST_GCS_EMULATOR, DBWARD_TEST_MOTO, DBWARD_TEST_AZURITE,
#   DBWARD_TEST_AIOSMTPD, DBWARD_TEST_NODE_MODULES
# Needs python3 and node/npm; installs Debian's python3-venv when `python3 -m venv` fails.

dbward_test_tools() {
  local root dir venv npm_prefix sudo=()
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  dir=${CARGO_TARGET_DIR:-$root/target}/test-tools
  case $dir in /*) ;; *) dir=$root/$dir ;; esac
  venv=$dir/venv
  npm_prefix=$dir/npm
  mkdir -p "$dir" || return

  if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo=(sudo); fi

  # --- Python: wsgidav, cheroot, gcp-storage-emulator, moto[server] ---
  if [[ ! -x $venv/bin/python ]]; then
    command -v python3 >/dev/null || { echo "test-tools: python3 not found" >&2; return 1; }
    printf '\n==> %s\n' "creating the Python venv $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      rm -rf "$venv"
      local pyver
      pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
          --no-install-recommends python3-venv "python$pyver-venv" ||
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
          --no-install-recommends python3-venv || return
      python3 -m venv "$venv" || return
    fi
  fi
  # Each missing tool is added to the venv; those already there are kept.
  local wanted=()
  [[ -x $venv/bin/wsgidav ]] || wanted+=('wsgidav>=4,<5' cheroot)
  [[ -x $venv/bin/gcp-storage-emulator ]] || wanted+=(gcp-storage-emulator)
  [[ -x $venv/bin/moto_server ]] || wanted+=('moto[server]>=5,<6')
  [[ -x $venv/bin/aiosmtpd ]] || wanted+=('aiosmtpd>=1.4,<2')
  if ((${#wanted[@]})); then
    printf '\n==> %s\n' "installing ${wanted[*]} into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${wanted[@]}" || return
  fi

  # --- Node: azurite ---
  if [[ ! -x $npm_prefix/node_modules/.bin/azurite-blob ]]; then
    command -v npm >/dev/null || { echo "test-tools: npm (node) not found" >&2; return 1; }
    printf '\n==> %s\n' "installing azurite@3 into $npm_prefix" >&2
    npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error azurite@3 ||
      return
  fi
  # --- Node: playwright-core (no browser download: it drives Debian's chromium) and axe-core ---
  if [[ ! -d $npm_prefix/node_modules/playwright-core || ! -d $npm_prefix/node_modules/axe-core ]]; then
    command -v npm >/dev/null || { echo "test-tools: npm (node) not found" >&2; return 1; }
    printf '\n==> %s\n' "installing playwright-core@1 and axe-core@4 into $npm_prefix" >&2
    npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error \
      playwright-core@1 axe-core@4 || return
  fi

  export DBWARD_TEST_WSGIDAV=$venv/bin/wsgidav
  export DBWARD_TEST_GCS_EMULATOR=$venv/bin/gcp-storage-emulator
  export DBWARD_TEST_MOTO=$venv/bin/moto_server
  export DBWARD_TEST_AZURITE=$npm_prefix/node_modules/.bin/azurite-blob
  export DBWARD_TEST_AIOSMTPD=$venv/bin/aiosmtpd
  export DBWARD_TEST_NODE_MODULES=$npm_prefix/node_modules
}

if dbward_test_tools; then
  unset -f dbward_test_tools
else
  unset -f dbward_test_tools
  echo "test-tools: installing the test emulators failed (see above)" >&2
  return 1
fi
