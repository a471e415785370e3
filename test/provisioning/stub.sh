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
      if [ -z "$sub" ]; then sub="$arg"; elif [ "$sub" = install ]; then add packages "${arg%%=*}"; fi
      ;;
    esac
  done
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

nodetool_stub() {
  case "${1:-}" in
  status)
    printf 'Datacenter: datacenter1\n=======================\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n'
    printf -- '--  Address     Load       Tokens  Owns (effective)  Host ID                               Rack\n'
    local ip i=0
    for ip in ${STUB_NODES:-}; do
      i=$((i + 1))
      printf 'UN  %-10s  1.2 MiB    1       100.0%%            0000000%d-aaaa-bbbb-cccc-dddddddddddd  rack1\n' "$ip" "$i"
    done
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
  cassandra) if has cassandra cassandra-locked; then exit 2; fi ;;
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
dpkg-query) if has packages "$(last "$@")"; then printf 'install ok installed'; else exit 1; fi ;;
useradd | groupadd) add users "$(last "$@")" ;;
id)
  if [ $# -eq 1 ]; then
    printf '0\n'
  elif has users "$(last "$@")"; then printf '999\n'; else exit 1; fi
  ;;
curl) curl_stub "$@" ;;
gpg) cat ;;
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
