#!/usr/bin/env bash
# Stub of the system commands the provisioning scripts call (linked under each command's name, first on PATH).
# It appends its command line to $STUB_LOG and emulates just enough behaviour, keeping state in $STUB_STATE:
# installed packages, users, filesystems, mounts, RabbitMQ users and queues, Cassandra roles.
set -u
name="$(basename "$0")"
{
  printf '%s' "$name"
  printf ' %s' "$@"
  printf '\n'
} >>"$STUB_LOG"
state="$STUB_STATE"
mkdir -p "$state"

has() { grep -qxF -- "$2" "$state/$1" 2>/dev/null; }
add() { has "$1" "$2" || printf '%s\n' "$2" >>"$state/$1"; }
del() {
  if [ -f "$state/$1" ]; then
    grep -vxF -- "$2" "$state/$1" >"$state/$1.tmp" || true
    mv "$state/$1.tmp" "$state/$1"
  fi
}
last() { eval "printf '%s' \"\${$#}\""; }
# A file holding a secret must be readable by its owner only.
private() {
  [ "$(stat -c %a "$1")" = 600 ] || {
    echo "stub $name: $1 is not mode 600" >&2
    exit 3
  }
}

apt_get() {
  local sub='' arg
  while [ $# -gt 0 ]; do
    arg="$1"
    shift
    case "$arg" in
    -o) shift ;;
    -*) ;;
    *)
      if [ -z "$sub" ]; then sub="$arg"; elif [ "$sub" = install ]; then install_package "${arg%%=*}"; fi
      ;;
    esac
  done
}

# install_package NAME: records NAME as installed, at the version $STUB_APT_VERSIONS gives it ("glob=version ..."),
# else 1.0-1; a package pinned to priority -1 by the scripts' own preferences would have no candidate: that is for
# the preferences tests to assert, the stub installs what it is told.
install_package() {
  local entry version='1.0-1'
  for entry in ${STUB_APT_VERSIONS:-}; do
    # shellcheck disable=SC2254 # the glob of an entry is meant to match
    case "$1" in ${entry%%=*})
      version="${entry#*=}"
      break
      ;;
    esac
  done
  add packages "$1"
  del_prefix versions "$1 "
  printf '%s %s\n' "$1" "$version" >>"$state/versions"
}
del_prefix() {
  if [ -f "$state/$1" ]; then
    awk -v p="$2" 'index($0, p) != 1' "$state/$1" >"$state/$1.tmp"
    mv "$state/$1.tmp" "$state/$1"
  fi
}

dpkg_query() {
  local pkg version
  pkg="$(last "$@")"
  has packages "$pkg" || exit 1
  case "$*" in
  *Version*)
    version="$(awk -v p="$pkg" '$1 == p { print $2 }' "$state/versions" 2>/dev/null)"
    printf '%s' "${version:-1.0-1}"
    ;;
  *) printf 'install ok installed' ;;
  esac
}

# gpg: --dearmor copies its input; --show-keys prints the fingerprint of each "KEY <fingerprint>" line of a fixture
# key, as `gpg --with-colons` does.
gpg_stub() {
  case "$*" in
  *--show-keys*)
    awk '$1 == "KEY" { printf "pub:-:4096:1:%s:::::::\nfpr:::::::::%s:\n", substr($2, 25), $2 }' "$(last "$@")"
    ;;
  *) cat ;;
  esac
}

# gpgv --keyring KEYRING SIG FILE: "good" when SIG is the fixture signature of FILE (sig:<sha256 of FILE>) and the
# keyring holds the AWS CLI key block the scripts carry.
gpgv_stub() {
  local keyring='' sig file
  [ "${1:-}" = --keyring ] && keyring="$2" && shift 2
  sig="$1"
  file="$2"
  grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$keyring" 2>/dev/null || {
    echo "gpgv: no keyring" >&2
    exit 2
  }
  if [ "$(cat "$sig")" = "sig:$(sha256sum "$file" | cut -d' ' -f1)" ]; then
    echo "gpgv: Good signature from \"AWS CLI Team <aws-cli@amazon.com>\"" >&2
    exit 0
  fi
  echo "gpgv: BAD signature from \"AWS CLI Team <aws-cli@amazon.com>\"" >&2
  exit 1
}

curl_stub() {
  local out='' fmt='' url='' fail=0 code=200 file='' arg
  while [ $# -gt 0 ]; do
    arg="$1"
    shift
    case "$arg" in
    -o) out="$1" && shift ;;
    -w) fmt="$1" && shift ;;
    -K)
      private "$1"
      shift
      ;;
    -X | -H | --data | --connect-timeout | --max-time) shift ;;
    http://* | https://*) url="$arg" ;;
    --*) ;;
    -*) case "$arg" in *f*) fail=1 ;; esac ;;
    esac
  done
  file="$(awk -F'\t' -v u="$url" '$1 == u { print $2 }' "$STUB_FIXTURES/urls.tsv")"
  if [ -z "$file" ]; then
    case "$url" in
    */latest/api/token) printf 'imds-token' >"$state/body" ;;
    */meta-data/public-ipv4) printf '198.51.100.7' >"$state/body" ;;
    */meta-data/local-ipv4) printf '%s' "${STUB_LOCAL_IPV4:-10.5.0.11}" >"$state/body" ;;
    # The Name tag, when the instance has instance metadata tags enabled (STUB_NAME_TAG set); else 404, as IMDS.
    */meta-data/tags/instance/Name)
      if [ -n "${STUB_NAME_TAG:-}" ]; then printf '%s' "$STUB_NAME_TAG" >"$state/body"; else code=404; fi
      ;;
    http://127.0.0.1:15672/api/queues/*)
      add queues "${url##*/}"
      code=201
      ;;
    http://127.0.0.1:15672/api/*) code=201 ;;
    http://127.0.0.1:6543/ks | http://127.0.0.1/) code="${STUB_HTTP_CODE:-200}" ;;
    *) code=404 ;;
    esac
    [ -f "$state/body" ] && file="$state/body"
  else
    file="$STUB_FIXTURES/$file"
  fi
  if [ "$code" -lt 400 ] && [ -n "$file" ]; then
    if [ -n "$out" ]; then cp "$file" "$out"; else cat "$file"; fi
  fi
  rm -f "$state/body"
  case "$fmt" in *http_code*) printf '%s' "$code" ;; esac
  if [ "$fail" = 1 ] && [ "$code" -ge 400 ]; then exit 22; fi
  exit 0
}

# unit_active UNIT: systemd units are active unless stopped, or listed in STUB_INACTIVE_UNITS and not started since.
unit_active() {
  if [ ! -f "$state/units-seeded" ]; then
    for unit in ${STUB_INACTIVE_UNITS:-}; do add units-inactive "$unit"; done
    : >"$state/units-seeded"
  fi
  ! has units-inactive "$1"
}

systemctl_stub() {
  local verb="${1:-}" arg
  unit_active seed || true
  shift
  for arg in "$@"; do
    case "$arg" in
    -*) ;;
    *)
      case "$verb" in
      is-active) unit_active "$arg" || exit 3 ;;
      # kill --signal=SIGINT: the service exits (capidaemon finishes its batches), unless STUB_IGNORES_SIGINT.
      kill) [ -n "${STUB_IGNORES_SIGINT:-}" ] || add units-inactive "$arg" ;;
      stop) add units-inactive "$arg" ;;
      start | restart) del units-inactive "$arg" ;;
      disable) add units-disabled "$arg" ;;
      enable) del units-disabled "$arg" ;;
      esac
      ;;
    esac
  done
}

# count FILE: bumps the counter in FILE and prints it.
count() {
  printf 'x' >>"$state/$1"
  wc -c <"$state/$1" | tr -d ' '
}

# node_state IP: the node's status and state: UN, unless STUB_NODE_STATES says otherwise ("ip=UJ ip=UL"); the local
# node (STUB_LOCAL_IPV4) shows UJ for its first STUB_JOIN_POLLS status calls (it streams), then UN.
node_state() {
  local entry
  if [ "$1" = "${STUB_LOCAL_IPV4:-10.5.0.11}" ] && [ "${STUB_JOIN_POLLS:-0}" -gt 0 ] &&
    [ "$(count join-polls)" -le "$STUB_JOIN_POLLS" ]; then
    printf 'UJ'
    return
  fi
  for entry in ${STUB_NODE_STATES:-}; do
    if [ "${entry%%=*}" = "$1" ]; then
      printf '%s' "${entry#*=}"
      return
    fi
  done
  printf 'UN'
}

# The local node's operation mode (nodetool netstats): DECOMMISSIONED once decommissioned, else STUB_MODE (LEAVING
# turns DECOMMISSIONED after three calls: a decommission under way completes), else NORMAL.
node_mode() {
  if [ -f "$state/decommissioned" ]; then
    printf 'DECOMMISSIONED'
  elif [ "${STUB_MODE:-}" = LEAVING ] && [ "$(count leave-polls)" -gt 3 ]; then
    : >"$state/decommissioned"
    printf 'DECOMMISSIONED'
  else
    printf '%s' "${STUB_MODE:-NORMAL}"
  fi
}

nodetool_stub() {
  local self="${STUB_LOCAL_IPV4:-10.5.0.11}"
  # nodetool talks to the local node over JMX: it fails while Cassandra is stopped.
  if ! unit_active cassandra; then
    echo "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'." >&2
    exit 1
  fi
  case "${1:-}" in
  status)
    printf 'Datacenter: datacenter1\n=======================\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n'
    printf -- '--  Address     Load       Tokens  Owns (effective)  Host ID                               Rack\n'
    local ip i=0
    for ip in ${STUB_NODES:-}; do
      i=$((i + 1))
      # A decommissioned node has left the ring.
      if [ "$ip" = "$self" ] && [ -f "$state/decommissioned" ]; then continue; fi
      printf '%s  %-10s  1.2 MiB    1       100.0%%            0000000%d-aaaa-bbbb-cccc-dddddddddddd  rack1\n' "$(node_state "$ip")" "$ip" "$i"
    done
    ;;
  netstats) printf 'Mode: %s\nNot sending any streams.\n' "$(node_mode)" ;;
  info)
    printf 'ID                     : 00000001-aaaa-bbbb-cccc-dddddddddddd\nLoad                   : 1.2 MiB\n'
    if [ "${2:-}" = --tokens ]; then
      printf 'Token                  : %s\n' "$(sed -n "s/^initial_token: '\(.*\)'$/\1/p" "$CAPI_ROOT/etc/cassandra/cassandra.yaml" 2>/dev/null)"
    fi
    ;;
  decommission)
    [ -z "${STUB_DECOMMISSION_FAIL:-}" ] || {
      echo "error: Stream failed" >&2
      exit 2
    }
    : >"$state/decommissioned"
    ;;
  esac
}

cqlsh_stub() {
  local rc='' file='' user='' arg
  if [ "${1:-}" = --version ]; then
    [ -z "${STUB_CQLSH_BROKEN:-}" ] || [ "$0" != "$STUB_BIN/cqlsh" ] || exit 1
    printf 'cqlsh 6.2.0\n'
    exit 0
  fi
  for arg in "$@"; do
    case "$arg" in
    --cqlshrc=*) rc="${arg#--cqlshrc=}" ;;
    --file=*) file="${arg#--file=}" ;;
    esac
  done
  private "$rc"
  private "$file"
  user="$(sed -n 's/^username = //p' "$rc")"
  private "$(sed -n 's/^credentials = //p' "$rc")"
  case "$user" in
  capillaries) has cassandra role-capillaries || {
    echo "AuthenticationFailed('Failed to authenticate to capillaries')" >&2
    exit 2
  } ;;
  cassandra)
    if has cassandra cassandra-locked; then exit 2; fi
    # Cassandra creates its default superuser superuser_setup_delay_ms after start: the first
    # STUB_SUPERUSER_AFTER logins as cassandra fail as they do on a node that has not created it yet.
    printf 'x' >>"$state/superuser-attempts"
    if [ "$(wc -c <"$state/superuser-attempts")" -le "${STUB_SUPERUSER_AFTER:-0}" ]; then
      echo "AuthenticationFailed('Failed to authenticate to $(last "$@"): Provided username cassandra and/or password are incorrect')" >&2
      exit 2
    fi
    ;;
  esac
  if grep -q 'CREATE ROLE IF NOT EXISTS capillaries' "$file"; then add cassandra role-capillaries; fi
  if grep -q 'ALTER ROLE cassandra .*LOGIN = false' "$file"; then add cassandra cassandra-locked; fi
  exit 0
}

rabbitmqctl_stub() {
  [ -f "$state/rabbit-users" ] || printf 'guest\n' >"$state/rabbit-users"
  while [ "${1:-}" = -s ] || [ "${1:-}" = -q ]; do shift; done
  case "${1:-}" in
  list_users) sed 's/$/\t[]/' "$state/rabbit-users" ;;
  add_user | change_password)
    [ $# -eq 2 ] || {
      echo "stub rabbitmqctl: password on the command line" >&2
      exit 4
    }
    [ -n "$(cat)" ] || exit 5
    add rabbit-users "$2"
    ;;
  delete_user) del rabbit-users "$2" ;;
  list_queues) [ -f "$state/queues" ] && cat "$state/queues" ;;
  version) printf '4.1.0\n' ;;
  esac
  exit 0
}

aws_stub() {
  local param='' decrypt=0
  if [ "${1:-}" = --version ]; then
    # Installed by the AWS CLI installer (stub `install`), or present beforehand when STUB_AWS_VERSION says so.
    if [ -f "$state/awscli-version" ]; then
      printf 'aws-cli/%s Python/3.13.7 Linux/6.8.0-1029-aws exe/%s.ubuntu.24\n' "$(cat "$state/awscli-version")" "${STUB_UNAME_M:-aarch64}"
    elif [ -n "${STUB_AWS_VERSION:-}" ]; then
      printf 'aws-cli/%s Python/3.13.7 Linux/6.8.0-1029-aws exe/%s.ubuntu.24\n' "$STUB_AWS_VERSION" "${STUB_UNAME_M:-aarch64}"
    else
      exit 127
    fi
    exit 0
  fi
  while [ $# -gt 0 ]; do
    case "$1" in
    --name) param="$2" && shift ;;
    --with-decryption) decrypt=1 ;;
    esac
    shift
  done
  [ "$decrypt" = 1 ] || exit 6
  case "$param" in
  */rabbitmq/admin-password) printf '%s\n' "$STUB_SECRET_ADMIN" ;;
  */rabbitmq/user-password) printf '%s\n' "$STUB_SECRET_USER" ;;
  */cassandra/password) printf '%s\n' "$STUB_SECRET_CASSANDRA" ;;
  *)
    echo "ParameterNotFound: $param" >&2
    exit 254
    ;;
  esac
}

case "$name" in
apt-get) apt_get "$@" ;;
dpkg-query) dpkg_query "$@" ;;
dpkg)
  case "${1:-}" in
  --print-architecture) printf '%s\n' "${STUB_DPKG_ARCH:-arm64}" ;;
  -i)
    # dpkg -i [-E] DEB: a fixture .deb is "Package: NAME" and "Architecture: ARCH" lines; dpkg refuses another
    # architecture. The CloudWatch agent's package brings its amazon-cloudwatch-agent-ctl (this stub).
    deb="$(last "$@")"
    pkg="$(sed -n 's/^Package: //p' "$deb")"
    deb_arch="$(sed -n 's/^Architecture: //p' "$deb")"
    if [ "$deb_arch" != "${STUB_DPKG_ARCH:-arm64}" ]; then
      echo "dpkg: error processing archive $deb: package architecture ($deb_arch) does not match system (${STUB_DPKG_ARCH:-arm64})" >&2
      exit 1
    fi
    install_package "$pkg"
    if [ "$pkg" = amazon-cloudwatch-agent ]; then
      mkdir -p "$CAPI_ROOT/opt/aws/amazon-cloudwatch-agent/bin"
      ln -sf "$STUB_BIN/stub.sh" "$CAPI_ROOT/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
    fi
    ;;
  esac
  ;;
useradd | groupadd) add users "$(last "$@")" ;;
id)
  if [ $# -eq 1 ]; then
    printf '0\n'
  elif has users "$(last "$@")"; then printf '999\n'; else exit 1; fi
  ;;
curl) curl_stub "$@" ;;
gpg) gpg_stub "$@" ;;
gpgv) gpgv_stub "$@" ;;
uname) if [ "${1:-}" = -m ]; then printf '%s\n' "${STUB_UNAME_M:-aarch64}"; else printf 'Linux\n'; fi ;;
lsblk) printf '%b\n' "${STUB_LSBLK:-}" ;;
blkid)
  dev="$(last "$@")"
  line="$(grep -F "$dev " "$state/filesystems" 2>/dev/null)" || exit 2
  case "$*" in *TYPE*) printf 'xfs\n' ;; *UUID*) printf '%s\n' "${line##* }" ;; esac
  ;;
mkfs.xfs)
  dev="$(last "$@")"
  add filesystems "$dev $(printf '%s' "$dev" | md5sum | cut -c1-8)-1111-2222-3333-444455556666"
  ;;
mountpoint) has mounts "$(last "$@")" || exit 1 ;;
mount) add mounts "$(last "$@")" ;;
nodetool) nodetool_stub "$@" ;;
systemctl) systemctl_stub "$@" ;;
cqlsh) cqlsh_stub "$@" ;;
rabbitmqctl) rabbitmqctl_stub "$@" ;;
rabbitmq-diagnostics) printf 'Interface: [::], port: 5672, protocol: amqp, purpose: AMQP 0-9-1 and AMQP 1.0\n' ;;
aws) aws_stub "$@" ;;
promtool)
  if [ "${1:-}" = query ]; then
    printf '%b\n' "${STUB_PROM_UP:-}" | while read -r instance job value; do
      [ -n "$instance" ] && printf 'up{instance="%s", job="%s"} => %s @[1700000000.000]\n' "$instance" "$job" "$value"
    done
  fi
  ;;
fuser) exit 1 ;;
unzip)
  # unzip -q -o ZIP -d DIR: the AWS CLI bundle, whose aws/install is this stub; it installs the version named in the
  # zip fixture ("awscli <version>").
  dest=.
  zip=''
  while [ $# -gt 0 ]; do
    case "$1" in
    -d) dest="$2" && shift ;;
    -*) ;;
    *) zip="$1" ;;
    esac
    shift
  done
  mkdir -p "$dest/aws"
  sed -n 's/^awscli //p' "$zip" >"$dest/aws/VERSION"
  ln -sf "$STUB_BIN/stub.sh" "$dest/aws/install"
  ;;
install)
  cp "$(dirname "$0")/VERSION" "$state/awscli-version"
  ;;
nc)
  # nc -z -w 3 HOST PORT: open unless HOST:PORT is in STUB_CLOSED_PORTS.
  target="${*: -2:1}:$(last "$@")"
  case " ${STUB_CLOSED_PORTS:-} " in *" $target "*) exit 1 ;; esac
  ;;
python3)
  # python3 -m venv DIR: a "virtualenv" whose pip and cqlsh are this stub.
  if [ "${1:-}" = -m ] && [ "${2:-}" = venv ]; then
    mkdir -p "$3/bin"
    ln -sf "$STUB_BIN/stub.sh" "$3/bin/pip"
    ln -sf "$STUB_BIN/stub.sh" "$3/bin/cqlsh"
  fi
  ;;
*) ;;
esac
exit 0
