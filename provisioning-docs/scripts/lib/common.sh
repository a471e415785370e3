#!/usr/bin/env bash
# Helpers shared by every provisioning script. SSM cannot ship files, so the document loader
# (src/provisioning/documents.ts) inlines this file in place of the `. …/common.sh # capi:inline` line of each
# script; run from the repository (tests, by hand), the scripts source it from disk instead.
#
# Conventions:
# - Parameters arrive as SSM_<Name> environment variables (interpolationType ENV_VAR) and are read with `param`.
# - Every path written is prefixed with CAPI_ROOT (empty on a node), so tests run the scripts against a fake root.
# - Files are written with `write_file`, which replaces a file only when its content or mode differs and records a
#   change tag; services restart only when something they use changed. A second run changes nothing.
# - Secrets are read with `read_secret` into variables, written only to root-only files, never echoed and never
#   passed as a command-line argument (other users can read /proc/<pid>/cmdline).
set -euo pipefail
# `producer | write_file …` must record its change tag in this shell, not in a pipeline subshell.
shopt -s lastpipe
umask 022

CAPI_ROOT="${CAPI_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
CAPI_CHANGED=' '
CAPI_APT_UPDATED=0
CAPI_EXIT_HOOKS=()
CAPI_TMP="$(mktemp -d)"

log() { printf '[capideploy %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# on_exit FUNCTION: runs FUNCTION when the script exits, before the temporary directory is removed.
on_exit() { CAPI_EXIT_HOOKS+=("$1"); }
run_exit_hooks() {
  local hook
  for hook in "${CAPI_EXIT_HOOKS[@]}"; do
    "$hook" || true
  done
  rm -rf "$CAPI_TMP"
}
trap run_exit_hooks EXIT

require_root() {
  # Tests run as any user against a fake root; on a node SSM runs the document as root.
  [[ -n "$CAPI_ROOT" || "$EUID" -eq 0 ]] || die "run as root (SSM Run Command does)"
}

# param NAME REGEX: prints the value of the document parameter NAME, checked again against REGEX. The document's
# allowedPattern already did; this catches a script run by hand or a document edited out of step with its script.
param() {
  local var="SSM_$1"
  local value="${!var-}"
  [[ "$value" =~ $2 ]] || die "parameter $1 is missing or malformed (expected $2)"
  printf '%s' "$value"
}

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, sleeping 2, 4, 8 … (at most 60) seconds in between.
# COMMAND runs in a condition, where `set -e` is off: a function passed here must return its own failures.
retry() {
  local attempts="$1" delay=2 n=1
  shift
  until "$@"; do
    if ((n >= attempts)); then
      printf 'ERROR: %s failed %d times, giving up\n' "$1" "$n" >&2
      return 1
    fi
    # Only the command name is printed: arguments may be long and are nobody's business in the log.
    printf 'retry: %s failed (attempt %d/%d), next try in %ss\n' "$1" "$n" "$attempts" "$delay" >&2
    sleep "$delay"
    n=$((n + 1))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# changed TAG: true if write_file (or mark_changed) recorded TAG during this run.
changed() { [[ "$CAPI_CHANGED" == *" $1 "* ]]; }
mark_changed() { CAPI_CHANGED+="$1 "; }

# write_file PATH MODE [TAG] < CONTENT: replaces PATH atomically when its content or mode differs, and records TAG.
# The temporary file is created 0600, so a secret is never readable by others, not even for an instant.
write_file() {
  local path="$1" mode="$2" tag="${3:-file}" tmp
  mkdir -p "$(dirname "$path")"
  tmp="$(mktemp "$path.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$path" && ! -L "$path" ]] && cmp -s "$tmp" "$path" && [[ "$(stat -c %a "$path")" == "${mode#0}" ]]; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$path"
  mark_changed "$tag"
  log "updated ${path#"$CAPI_ROOT"}"
}

# link PATH TARGET [TAG]: makes PATH a symbolic link to TARGET (a path on the node, without CAPI_ROOT).
link() {
  local path="$1" target="$2" tag="${3:-file}"
  [[ -L "$path" && "$(readlink "$path")" == "$target" ]] && return 0
  mkdir -p "$(dirname "$path")"
  ln -sfn "$target" "$path"
  mark_changed "$tag"
}

# ---------------------------------------------------------------------------------------------------------------
# Packages

# wait_apt_lock: waits (up to 15 minutes) while cloud-init, unattended-upgrades or apt-daily hold the dpkg/apt locks.
wait_apt_lock() {
  local waited=0
  if command -v cloud-init >/dev/null 2>&1; then
    cloud-init status --wait >/dev/null 2>&1 || true
  fi
  while fuser "${CAPI_ROOT}/var/lib/dpkg/lock-frontend" "${CAPI_ROOT}/var/lib/dpkg/lock" \
    "${CAPI_ROOT}/var/lib/apt/lists/lock" >/dev/null 2>&1; do
    ((waited < 900)) || die "the apt/dpkg lock is still held after ${waited}s"
    log "waiting for the apt/dpkg lock (another apt run, e.g. unattended-upgrades)"
    sleep 5
    waited=$((waited + 5))
  done
}

apt_get() {
  wait_apt_lock
  # DPkg::Lock::Timeout makes apt itself wait for a lock taken between our check and its start.
  apt-get -q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

dpkg_installed() {
  # shellcheck disable=SC2016 # ${Status} is a dpkg-query format field, not a shell expansion
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# apt_install PACKAGE[=VERSION]...: installs the packages not yet installed; refreshes the lists at most once per run
# (or again after an apt source changed), with retries because mirrors fail intermittently.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg_installed "${pkg%%=*}" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if ((CAPI_APT_UPDATED == 0)); then
    retry 6 apt_get update --error-on=any
    CAPI_APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  retry 6 apt_get install --no-install-recommends "${missing[@]}"
}

# apt_source NAME < LINES: writes /etc/apt/sources.list.d/NAME.list; the next apt_install refreshes the lists.
apt_source() {
  write_file "${CAPI_ROOT}/etc/apt/sources.list.d/$1.list" 0644 "apt-$1"
  if changed "apt-$1"; then
    CAPI_APT_UPDATED=0
  fi
}

# apt_preferences NAME < STANZAS: writes /etc/apt/preferences.d/NAME (pins); the next apt_install refreshes the lists.
apt_preferences() {
  write_file "${CAPI_ROOT}/etc/apt/preferences.d/$1" 0644 "apt-pin-$1"
  if changed "apt-pin-$1"; then
    CAPI_APT_UPDATED=0
  fi
}

# apt_key URL FINGERPRINT KEYRING: fetches an armored signing key once and stores it dearmored in KEYRING, after
# checking that its primary key's fingerprint ends with FINGERPRINT (a full fingerprint, or the 64-bit key id a
# publisher documents). A key that does not match is never written.
apt_key() {
  local url="$1" want="$2" keyring="$3" got
  if [[ -s "${CAPI_ROOT}${keyring}" ]]; then
    return 0
  fi
  download "$url" "$CAPI_TMP/key.asc"
  got="$(gpg --show-keys --with-colons "$CAPI_TMP/key.asc" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')"
  [[ -n "$got" && "$got" == *"$want" ]] ||
    die "the key from $url has fingerprint '${got:-none}', expected one ending in $want: refusing it"
  gpg --dearmor <"$CAPI_TMP/key.asc" | write_file "${CAPI_ROOT}${keyring}" 0644 apt-key
  CAPI_APT_UPDATED=0
}

# package_version PACKAGE: the installed version of PACKAGE (empty when it is not installed).
package_version() {
  # shellcheck disable=SC2016 # ${Version} is a dpkg-query format field, not a shell expansion
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

# require_version PACKAGE REGEX WHAT: fails unless the installed PACKAGE's version matches REGEX. Run after every
# pinned install, so a wrong source (Ubuntu's own package, a newer series) is an error naming both versions, never
# a silent fallback.
require_version() {
  local version
  version="$(package_version "$1")"
  [[ "$version" =~ $2 ]] ||
    die "$1 is ${version:-not installed}, not $3 (version matching $2): check 'apt-cache policy $1' and /etc/apt/preferences.d/"
  log "$1 $version ($3)"
}

# apt_install_pinned REGEX PACKAGE...: installs (or moves to) the pinned version of each PACKAGE whose installed
# version does not match REGEX; the candidate is what /etc/apt/preferences.d/ pins.
apt_install_pinned() {
  local regex="$1" pkg wrong=()
  shift
  for pkg in "$@"; do
    [[ "$(package_version "$pkg")" =~ $regex ]] || wrong+=("$pkg")
  done
  if ((${#wrong[@]} == 0)); then
    return 0
  fi
  if ((CAPI_APT_UPDATED == 0)); then
    retry 6 apt_get update --error-on=any
    CAPI_APT_UPDATED=1
  fi
  log "installing ${wrong[*]} (pinned)"
  retry 6 apt_get install --no-install-recommends --allow-downgrades "${wrong[@]}"
}

# ---------------------------------------------------------------------------------------------------------------
# Downloads

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch() { curl -fsSL --connect-timeout 15 --max-time 900 -o "$2" "$1"; }

# download URL DEST [SHA256]: fetches URL with retries and exponential backoff; verifies SHA256 when given.
download() {
  local url="$1" dest="$2" sum="${3:-}"
  mkdir -p "$(dirname "$dest")"
  retry 6 fetch "$url" "$dest.part"
  if [[ -n "$sum" && "$(sha256_of "$dest.part")" != "$sum" ]]; then
    rm -f "$dest.part"
    die "checksum mismatch for $url"
  fi
  mv -f "$dest.part" "$dest"
}

# fetch_release_tarball BASE_URL FILE DEST_DIR: downloads a GitHub release asset, checks it against the release's
# sha256sums.txt and extracts it into DEST_DIR.
fetch_release_tarball() {
  local base="$1" file="$2" dest="$3" expected
  download "$base/sha256sums.txt" "$CAPI_TMP/sha256sums.txt"
  expected="$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$CAPI_TMP/sha256sums.txt")"
  [[ -n "$expected" ]] || die "$file is not listed in $base/sha256sums.txt"
  download "$base/$file" "$CAPI_TMP/$file" "$expected"
  mkdir -p "$dest"
  tar -xzf "$CAPI_TMP/$file" -C "$dest" --no-same-owner
}

# ---------------------------------------------------------------------------------------------------------------
# Node facts

# node_arch: arm64 or amd64 (Debian's names, used by release assets and apt). The kernel (uname -m) and dpkg must
# agree: an amd64 userland on an arm64 kernel, or the reverse, would install binaries that cannot run.
node_arch() {
  local kernel dpkg_arch
  case "$(uname -m)" in
  x86_64 | amd64) kernel=amd64 ;;
  aarch64 | arm64) kernel=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
  esac
  dpkg_arch="$(dpkg --print-architecture)"
  [[ "$dpkg_arch" == "$kernel" ]] || die "dpkg says $dpkg_arch but the kernel says $(uname -m): refusing to guess"
  printf '%s' "$kernel"
}

# uname_arch: aarch64 or x86_64 (the kernel's names, used by the AWS CLI bundles).
uname_arch() {
  case "$(node_arch)" in
  arm64) printf 'aarch64' ;;
  amd64) printf 'x86_64' ;;
  esac
}

os_codename() {
  local file="${CAPI_ROOT}/etc/os-release" codename
  [[ -r "$file" ]] || file=/etc/os-release
  codename="$(sed -n 's/^VERSION_CODENAME=//p' "$file" | tr -d '"')"
  [[ -n "$codename" ]] || die "cannot tell the Ubuntu release from $file"
  printf '%s' "$codename"
}

# mem_mib PERCENT: PERCENT of the node's memory in MiB (for GOMEMLIMIT).
mem_mib() {
  local file="${CAPI_ROOT}/proc/meminfo"
  [[ -r "$file" ]] || file=/proc/meminfo
  awk -v p="$1" '/^MemTotal:/ { printf "%d", $2 / 1024 * p / 100 }' "$file"
}

# imds PATH: reads instance metadata with IMDSv2 (the instances enforce it). The session token goes in a header
# read from a file descriptor, not on the command line.
imds() {
  local token
  token="$(retry 5 curl -fsS --connect-timeout 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
    http://169.254.169.254/latest/api/token)"
  curl -fsS --connect-timeout 2 -H @<(printf 'X-aws-ec2-metadata-token: %s\n' "$token") \
    "http://169.254.169.254/latest/$1"
}

# ---------------------------------------------------------------------------------------------------------------
# Users and services

ensure_system_user() {
  if ! id -u "$1" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$1"
  fi
}

# write_unit NAME < CONTENT: writes the systemd unit NAME.service (tagged NAME, so service_up restarts it).
write_unit() {
  write_file "${CAPI_ROOT}/etc/systemd/system/$1.service" 0644 "$1"
  if changed "$1"; then
    mark_changed systemd
  fi
}

# capillaries_unit NAME DESCRIPTION: a Capillaries binary (/opt/capillaries/bin/NAME) as a systemd unit with its
# root-only EnvironmentFile /etc/capillaries/NAME.env; restarts on failure, starts on boot, and stops with SIGINT so
# the process finishes its current batch, as capideploy stopped it.
capillaries_unit() {
  write_unit "$1" <<EOF
[Unit]
Description=$2
Wants=network-online.target
After=network-online.target

[Service]
User=capillaries
Group=capillaries
EnvironmentFile=/etc/capillaries/$1.env
WorkingDirectory=/opt/capillaries/bin
ExecStart=/opt/capillaries/bin/$1
KillSignal=SIGINT
TimeoutStopSec=60
Restart=on-failure
RestartSec=5
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
EOF
}

# read_data_secrets: the Cassandra and AMQP passwords from Parameter Store into CAPI_CASSANDRA_SECRET and
# CAPI_AMQP_SECRET (never echoed). Read before writing an env file, so a failed read never leaves a partial file.
read_data_secrets() {
  CAPI_CASSANDRA_SECRET="$(read_secret cassandra/password)"
  CAPI_AMQP_SECRET="$(read_secret rabbitmq/user-password)"
}

# capillaries_data_env CASSANDRA_HOSTS RABBITMQ_IP: the CAPI_* lines of the Cassandra and AMQP 1.0 connections that
# the webapi and the daemon share (after read_data_secrets).
capillaries_data_env() {
  env_line CAPI_CASSANDRA_HOSTS "$1"
  env_line CAPI_CASSANDRA_PORT 9042
  env_line CAPI_CASSANDRA_USERNAME capillaries
  env_line CAPI_CASSANDRA_PASSWORD "$CAPI_CASSANDRA_SECRET"
  env_line CAPI_CASSANDRA_ENABLE_HOST_VERIFICATION false
  env_line CAPI_CASSANDRA_KEYSPACE_REPLICATION_CONFIG "{ 'class' : 'NetworkTopologyStrategy', 'datacenter1' : 1 }"
  env_line CAPI_CASSANDRA_CONSISTENCY LOCAL_QUORUM
  env_line CAPI_CASSANDRA_TIMEOUT 15000
  env_line CAPI_MQ_TYPE amqp10
  env_line CAPI_AMQP10_URL "amqp://capiuser:$(urlencode "$CAPI_AMQP_SECRET")@$2:5672/"
  env_line CAPI_AMQP10_ADDRESS /queues/capidaemon
}

# service_up UNIT [TAG...]: enables and starts UNIT; restarts it when its unit file or anything tagged TAG changed.
service_up() {
  local unit="$1" tag restart=0
  shift
  if changed systemd; then
    systemctl daemon-reload
    CAPI_CHANGED="${CAPI_CHANGED// systemd / }"
  fi
  for tag in "$unit" "$@"; do
    if changed "$tag"; then restart=1; fi
  done
  systemctl enable --quiet "$unit"
  if ((restart)); then
    log "restarting $unit"
    systemctl restart "$unit"
  else
    systemctl start "$unit"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Block devices

# ensure_mount DEVICE MOUNTPOINT: formats DEVICE as xfs if it holds no filesystem (never reformats one), then mounts
# it at MOUNTPOINT through an fstab entry by UUID with nofail, so a missing disk never blocks the boot.
ensure_mount() {
  local dev="$1" mp="$2" fstab="${CAPI_ROOT}/etc/fstab" fstype uuid
  udevadm settle >/dev/null 2>&1 || true
  fstype="$(blkid -s TYPE -o value "$dev" || true)"
  if [[ -z "$fstype" ]]; then
    log "formatting $dev as xfs"
    mkfs.xfs -q -K "$dev"
  elif [[ "$fstype" != xfs ]]; then
    die "$dev already holds a $fstype filesystem; refusing to reformat it"
  fi
  uuid="$(blkid -s UUID -o value "$dev")"
  [[ -n "$uuid" ]] || die "$dev has no filesystem UUID"
  mkdir -p "${CAPI_ROOT}${mp}"
  # Replace any older entry for this mount point: an instance-store disk comes back blank (new UUID) after a stop.
  {
    if [[ -f "$fstab" ]]; then
      awk -v mp="$mp" '$2 != mp' "$fstab"
    fi
    printf 'UUID=%s %s xfs defaults,noatime,nofail 0 2\n' "$uuid" "$mp"
  } | write_file "$fstab" 0644 fstab
  if changed fstab; then
    systemctl daemon-reload
  fi
  if ! mountpoint -q "${CAPI_ROOT}${mp}"; then
    mount "${CAPI_ROOT}${mp}"
  fi
}

# mount_log_volume VOLUME_ID MOUNTPOINT: the bastion's EBS log volume, found by its id (the workflow attaches it; the
# attachment may take a moment to appear), mounted at MOUNTPOINT by ensure_mount, owned by capillaries (0775). Both
# bastion documents run it: install, and configure for a bastion restored from an image, whose install never ran and
# whose fstab may still name the image's old volume (ensure_mount replaces that entry). A no-op once mounted.
mount_log_volume() {
  local id="$1" mp="$2" link waited=0
  # EBS volumes show up under their volume id without the dash.
  link="${CAPI_ROOT}/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id/-/}"
  until [[ -e "$link" ]]; do
    ((waited < 300)) || die "log volume $id is not attached (no $link after ${waited}s)"
    sleep 5
    waited=$((waited + 5))
    udevadm settle >/dev/null 2>&1 || true
  done
  ensure_mount "$(readlink -f "$link")" "$mp"
  ensure_system_user capillaries
  chown capillaries:capillaries "${CAPI_ROOT}${mp}"
  chmod 0775 "${CAPI_ROOT}${mp}"
}

# ---------------------------------------------------------------------------------------------------------------
# Software shared by several roles

# install_node_exporter VERSION: the Prometheus node exporter on :9100 as a systemd unit (every role runs it).
install_node_exporter() {
  local version="$1" arch name
  arch="$(node_arch)"
  name="node_exporter-${version}.linux-${arch}"
  ensure_system_user node_exporter
  if [[ ! -x "${CAPI_ROOT}/opt/${name}/node_exporter" ]]; then
    fetch_release_tarball "https://github.com/prometheus/node_exporter/releases/download/v${version}" \
      "${name}.tar.gz" "${CAPI_ROOT}/opt"
  fi
  link "${CAPI_ROOT}/usr/local/bin/node_exporter" "/opt/${name}/node_exporter" node_exporter
  write_unit node_exporter <<'EOF'
[Unit]
Description=Prometheus node exporter
Wants=network-online.target
After=network-online.target

[Service]
User=node_exporter
Group=node_exporter
ExecStart=/usr/local/bin/node_exporter --web.listen-address=:9100
Restart=on-failure
RestartSec=5
NoNewPrivileges=true
ProtectHome=true
ProtectSystem=full

[Install]
WantedBy=multi-user.target
EOF
  service_up node_exporter
}

# install_capi_binary RELEASE_URL NAME: a Capillaries binary and its JSON config (it must sit next to the binary)
# from the release bucket, as capideploy and the Terraform deployment fetch them. The running unit is restarted
# only when the binary or its config changed.
install_capi_binary() {
  local release="$1" name="$2" arch bin="${CAPI_ROOT}/opt/capillaries/bin"
  arch="$(node_arch)"
  download "$release/linux/$arch/$name.gz" "$CAPI_TMP/$name.gz"
  download "$release/linux/$arch/$name.json" "$CAPI_TMP/$name.json"
  gzip -dc "$CAPI_TMP/$name.gz" | write_file "$bin/$name" 0755 "$name"
  write_file "$bin/$name.json" 0644 "$name" <"$CAPI_TMP/$name.json"
  if changed "$name" && [[ -f "${CAPI_ROOT}/etc/systemd/system/$name.service" ]]; then
    systemctl restart "$name"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Secrets

# read_secret NAME: prints the SecureString /capideploy/<deployment>/NAME. Use only as VAR="$(read_secret NAME)".
# Needs CAPI_DEPLOYMENT and CAPI_REGION. Retries because a fresh instance profile takes a while to be usable.
read_secret() {
  local name="/capideploy/${CAPI_DEPLOYMENT:?}/$1" value
  value="$(retry 8 aws ssm get-parameter --region "${CAPI_REGION:?}" --name "$name" --with-decryption \
    --query Parameter.Value --output text)" || die "cannot read $name from Parameter Store (check the instance role)"
  [[ -n "$value" && "$value" != None ]] || die "$name is empty"
  printf '%s' "$value"
}

# env_line KEY VALUE: one systemd EnvironmentFile assignment, double-quoted with \ and " escaped.
env_line() {
  local value="$2"
  value="${value//\\/\\\\}"
  value="${value//\"/\\\"}"
  printf '%s="%s"\n' "$1" "$value"
}

# urlencode TEXT: percent-encodes TEXT for a URL's userinfo (a password in the AMQP URL).
urlencode() {
  local text="$1" out="" char i
  for ((i = 0; i < ${#text}; i++)); do
    char="${text:i:1}"
    case "$char" in
    [A-Za-z0-9._~-]) out+="$char" ;;
    *)
      printf -v char '%%%02X' "'$char"
      out+="$char"
      ;;
    esac
  done
  printf '%s' "$out"
}
