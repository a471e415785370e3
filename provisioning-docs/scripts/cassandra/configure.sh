#!/usr/bin/env bash
# capi-cassandra-configure: instance-store NVMe formatted xfs and mounted at /data, cassandra.yaml (cluster name,
# one token per node at its planned initial_token, seeds, addresses, password authentication), a native systemd
# unit with the JMX exporter agent on 7070, a heap sized from the instance's memory and heap dumps on /data, then
# starts the node. On the first node of the list it then waits for the whole ring and replaces the default
# superuser with `capillaries` (password from Parameter Store).
#
# Seeds and start order: the first min(3, N) nodes of the list are the seeds (a small seed list, about three per
# datacenter, is the usual recommendation; making every node a seed is not: DataStax's cassandra.yaml reference,
# and k8ssandra/cass-operator picks 3 per datacenter). The seeds start at once; every other node waits until each
# seed accepts CQL on 9042 (a node opens its native transport only once it has joined the ring: it is UN) and then
# starts. All non-seed nodes may start together: each has an explicit initial_token and joins with
# auto_bootstrap false (a new, empty cluster has nothing to stream), so there is no token allocation race and no
# bootstrap that could collide (cassandra.consistent.rangemovement).
# The default `cassandra` role is created by whichever node wins after superuser_setup_delay_ms (raised to 30 s so
# the ring has formed first); the auth setup runs once every node is UN and polls for that role (bounded below).
#
# Join=true (a resize adds this node to a running ring, one node at a time): the node bootstraps, streaming its range
# from the node that owned it. It is never a seed (seeds do not bootstrap: a node listed in its own seeds joins empty),
# its seeds are the first min(3, N) nodes of the list other than itself, and auto_bootstrap keeps its default (true).
# It starts once the seeds before it in the list serve CQL, then waits (for hours if need be: streaming runs at about
# 24 MiB/s by default) until it is UN, and leaves authentication alone (system_auth is already set up and replicated).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
CLUSTER_NAME="$(param ClusterName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
SEEDS="$(param Seeds "^${IP}(,${IP})*$")"
CLUSTER_SIZE="$(param ClusterSize '^[1-9][0-9]{0,3}$')"
CAPI_DEPLOYMENT="$(param DeploymentName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
CAPI_REGION="$(param Region '^[a-z]{2}(-gov)?-[a-z]{4,16}-[1-9]$')"
JOIN="$(param Join '^(false|true)$')"
INSTANCE_STORE_MODEL='Amazon EC2 NVMe Instance Storage'
DATA_DIRS=()
# At most this many seeds: the first nodes of the list.
MAX_SEEDS=3
# How long (seconds) a non-seed node waits for the seeds, and the auth setup for the default superuser role, which
# Cassandra creates superuser_setup_delay_ms (30 s here) after start, later when the ring is slow to settle.
SEED_WAIT_SECONDS=900
SUPERUSER_WAIT_SECONDS=300
SUPERUSER_SETUP_DELAY_MS=30000
# How long (seconds) a joining node may stream before it must be UN: the document's 21600 s less the seed wait and
# the disk setup. 200 GiB at the default 24 MiB/s stream throughput takes about 2.4 h.
JOIN_WAIT_SECONDS=19800
# A joining node logs its state (nodetool status, netstats) every this many seconds while it streams.
JOIN_REPORT_SECONDS=300
HEAP_DUMP_DIR=/data/heapdump

# initial_token I N: -2^63 + floor(I * 2^64 / N), exact in 64-bit shell arithmetic (long division in base 2^32),
# the I-th of N evenly spaced tokens.
initial_token() {
  local i="$1" n="$2" q_hi q_lo r
  q_hi=$(((1 << 32) / n))
  r=$(((1 << 32) % n))
  q_lo=$(((r << 32) / n))
  r=$(((r << 32) % n))
  printf '%s\n' "$(((i * q_hi - (1 << 31)) * (1 << 32) + i * q_lo + i * r / n))"
}

# cassandra_token I N: the token of the I-th node (0-based) of a ring of N, as the planner's cassandraToken
# (src/core/spec/plan.ts) computes it, so a ring that doubles or halves keeps every node's token. With N = B * 2^k,
# B odd: the first B nodes split the ring evenly; node I with B * 2^(m-1) <= I < B * 2^m bisects a range of the ring
# before it, at position 2 (I - B * 2^(m-1)) + 1 of B * 2^m slots.
cassandra_token() {
  local i="$1" odd="$2" slots
  while ((odd % 2 == 0)); do odd=$((odd / 2)); done
  if ((i < odd)); then
    initial_token "$i" "$odd"
    return 0
  fi
  slots=$((odd * 2))
  while ((i >= slots)); do slots=$((slots * 2)); done
  initial_token "$((2 * (i - slots / 2) + 1))" "$slots"
}

# Every node gets the same parameters (one SendCommand per batch of 50 nodes): each finds itself by its private
# address in the ordered node list, which gives its token; the first node sets up authentication.
NODE_IP="$(imds meta-data/local-ipv4)"
[[ "$NODE_IP" =~ ^${IP}$ ]] || die "the instance metadata service gave no private IPv4 address"
NODE_INDEX="$(awk -v RS=, -v self="$NODE_IP" '$1 == self { print NR - 1; exit }' <<<"$SEEDS")"
[[ -n "$NODE_INDEX" ]] || die "this node ($NODE_IP) is not in the Cassandra node list $SEEDS"
IFS=, read -r -a SEED_LIST <<<"$SEEDS"
((${#SEED_LIST[@]} == CLUSTER_SIZE)) || die "ClusterSize $CLUSTER_SIZE does not match the ${#SEED_LIST[@]} nodes listed"
INITIAL_TOKEN="$(cassandra_token "$NODE_INDEX" "$CLUSTER_SIZE")"
SEED_COUNT=$((CLUSTER_SIZE < MAX_SEEDS ? CLUSTER_SIZE : MAX_SEEDS))
IS_SEED=false
SETUP_AUTH=false
if [[ "$JOIN" == true ]]; then
  # A joining node bootstraps, so it must not be its own seed: its seeds are the others among the first nodes. Nodes
  # join one at a time in list order, so the seeds before it are in the ring and those after it may not exist yet:
  # it waits for the former only (one live seed is enough to join; gossip skips a seed it cannot reach).
  SEED_NODES=()
  WAIT_SEEDS=()
  for ((k = 0; k < SEED_COUNT; k++)); do
    if ((k != NODE_INDEX)); then SEED_NODES+=("${SEED_LIST[k]}"); fi
    if ((k < NODE_INDEX)); then WAIT_SEEDS+=("${SEED_LIST[k]}"); fi
  done
  ((${#SEED_NODES[@]} > 0)) || die "Join=true on the only node of the list ($NODE_IP): there is no ring to join"
  if ((${#WAIT_SEEDS[@]} == 0)); then WAIT_SEEDS=("${SEED_NODES[@]}"); fi
else
  SEED_NODES=("${SEED_LIST[@]:0:SEED_COUNT}")
  WAIT_SEEDS=("${SEED_NODES[@]}")
  if ((NODE_INDEX < SEED_COUNT)); then IS_SEED=true; fi
  if ((NODE_INDEX == 0)); then SETUP_AUTH=true; fi
fi
SEED_IPS="$(
  IFS=,
  printf '%s' "${SEED_NODES[*]}"
)"
WAIT_SEED_IPS="$(
  IFS=,
  printf '%s' "${WAIT_SEEDS[*]}"
)"

# heap_mb: the JVM heap in MiB, as Cassandra 5.0's cassandra-env.sh sizes it for G1: half the memory, at most
# 31744 MiB (below 32 GiB, where the JVM loses compressed object pointers). Written explicitly, so the heap shows in
# the unit and does not depend on how the JVM reads memory at start.
heap_mb() {
  local half
  half="$(mem_mib 50)"
  printf '%s' "$((half > 31744 ? 31744 : half))"
}

# instance_store_devices: the instance-store NVMe disks, by model name (never an EBS volume), in a stable order.
instance_store_devices() {
  local link dev seen=' '
  for link in "${CAPI_ROOT}"/dev/disk/by-id/nvme-Amazon_EC2_NVMe_Instance_Storage_*; do
    [[ -e "$link" && "$link" != *-part* ]] || continue
    dev="$(readlink -f "$link")"
    if [[ "$seen" != *" $dev "* ]]; then
      seen+="$dev "
      printf '%s\n' "$dev"
    fi
  done
  if [[ "$seen" == ' ' ]]; then
    lsblk -d -n -o NAME,MODEL | awk -v model="$INSTANCE_STORE_MODEL" \
      '{ name = $1; $1 = ""; sub(/^ +/, ""); sub(/ +$/, ""); if ($0 == model) print "/dev/" name }'
  fi
}

mount_data_disks() {
  local devices dev mp index=0
  mapfile -t devices < <(instance_store_devices)
  ((${#devices[@]} > 0)) || die "no NVMe instance store ('$INSTANCE_STORE_MODEL'): use an instance type with local disks, such as c7gd or c5ad"
  for dev in "${devices[@]}"; do
    # The first disk is /data (data, commit log, caches, hints); more disks add /data1, /data2 … for data only.
    mp=/data
    if ((index > 0)); then mp="/data$index"; fi
    ensure_mount "$dev" "$mp"
    mkdir -p "${CAPI_ROOT}$mp/data"
    DATA_DIRS+=("$mp/data")
    index=$((index + 1))
  done
  mkdir -p "${CAPI_ROOT}"/data/{commitlog,saved_caches,hints,cdc_raw} "${CAPI_ROOT}${HEAP_DUMP_DIR}"
  chown -R cassandra:cassandra "${DATA_DIRS[@]/#/${CAPI_ROOT}}" "${CAPI_ROOT}"/data/{commitlog,saved_caches,hints,cdc_raw} \
    "${CAPI_ROOT}${HEAP_DUMP_DIR}"
  # Heap dumps (on OutOfMemoryError) go to the data disk, writable by the service and large enough for a heap.
  chmod 0750 "${CAPI_ROOT}${HEAP_DUMP_DIR}"
}

write_cassandra_yaml() {
  local dir
  {
    cat <<EOF
# Written by capideploy (capi-cassandra-configure); a re-run overwrites it. Settings left out take the
# Cassandra 5.0 defaults.
cluster_name: '$CLUSTER_NAME'
num_tokens: 1
initial_token: '$INITIAL_TOKEN'
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
authenticator: PasswordAuthenticator
authorizer: CassandraAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$SEED_IPS"
listen_address: $NODE_IP
rpc_address: $NODE_IP
storage_port: 7000
native_transport_port: 9042
start_native_transport: true
endpoint_snitch: SimpleSnitch
data_file_directories:
EOF
    for dir in "${DATA_DIRS[@]}"; do
      printf '  - %s\n' "$dir"
    done
    cat <<'EOF'
commitlog_directory: /data/commitlog
saved_caches_directory: /data/saved_caches
hints_directory: /data/hints
cdc_raw_directory: /data/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
disk_failure_policy: stop
commit_failure_policy: stop
# Capillaries writes in large batches from many workers: give the coordinator time (the client waits 15 s).
write_request_timeout: 10000ms
EOF
    if [[ "$IS_SEED" == false && "$JOIN" == false ]]; then
      # Nothing to stream into a new cluster, and the node's token is fixed: join without bootstrapping. A node
      # joining a running ring (Join=true) keeps the default, auto_bootstrap true, and streams its range.
      printf 'auto_bootstrap: false\n'
    fi
  } | write_file "${CAPI_ROOT}/etc/cassandra/cassandra.yaml" 0644 cassandra-config
}

write_cassandra_unit() {
  # A native unit replaces the package's SysV script, which shows "active (exited)" and hides crashes.
  # cassandra-env.sh appends JVM_EXTRA_OPTS to the JVM options, takes -Xms/-Xmx from MAX_HEAP_SIZE (with G1 no
  # HEAP_NEWSIZE is needed) and sets -XX:HeapDumpPath under CASSANDRA_HEAPDUMP_DIR; without it the JVM would dump
  # into its working directory, which the cassandra user cannot write.
  write_unit cassandra <<EOF
[Unit]
Description=Apache Cassandra
Wants=network-online.target
After=network-online.target
RequiresMountsFor=/data

[Service]
Type=simple
User=cassandra
Group=cassandra
Environment=CASSANDRA_CONF=/etc/cassandra
Environment=MAX_HEAP_SIZE=$(heap_mb)M
Environment=CASSANDRA_HEAPDUMP_DIR=$HEAP_DUMP_DIR
Environment="JVM_EXTRA_OPTS=-javaagent:/opt/jmx_exporter/jmx_prometheus_javaagent.jar=7070:/etc/cassandra/jmx_exporter.yml -Dcassandra.superuser_setup_delay_ms=$SUPERUSER_SETUP_DELAY_MS"
ExecStart=/usr/sbin/cassandra -f
Restart=on-failure
RestartSec=10
TimeoutStopSec=180
LimitNOFILE=1048576
LimitNPROC=32768
LimitMEMLOCK=infinity
LimitAS=infinity

[Install]
WantedBy=multi-user.target
EOF
}

# up_nodes: how many nodes `nodetool status` reports Up/Normal, and whether this node is one of them.
up_nodes() {
  { nodetool status 2>/dev/null || true; } |
    awk -v self="$NODE_IP" '$1 == "UN" { n++; if ($2 == self) me = 1 } END { print n + 0, me + 0 }'
}

# wait_for_ring COUNT SECONDS: waits until this node and at least COUNT nodes in all are UN.
wait_for_ring() {
  local want="$1" limit="$2" waited=0 up self
  while true; do
    read -r up self <<<"$(up_nodes)"
    if ((self == 1 && up >= want)); then
      log "$up/$want Cassandra nodes are UN"
      return 0
    fi
    ((waited < limit)) || die "$up of $want Cassandra nodes are UN after ${waited}s (this node: $([[ $self == 1 ]] && echo UN || echo not UN))"
    sleep 10
    waited=$((waited + 10))
  done
}

# self_state: this node's status and state in `nodetool status` (UN, UJ, …); empty when it is not listed or nodetool
# does not answer (Cassandra not running).
self_state() {
  { nodetool status 2>/dev/null || true; } | awk -v self="$NODE_IP" '$2 == self { print $1; exit }'
}

# node_token: the token this node owns in the ring (`nodetool info --tokens`); empty when nodetool does not answer.
node_token() {
  { nodetool info --tokens 2>/dev/null || true; } | awk -F': *' '$1 ~ /^Token *$/ { print $2; exit }'
}

# wait_for_join: after a start with Join=true, waits until this node is UN: it shows UJ while it streams its range.
# Logs its progress every JOIN_REPORT_SECONDS; gives up after JOIN_WAIT_SECONDS, or within 30 s once Cassandra stopped
# running (it refuses to bootstrap while another node joins, leaves or moves: cassandra.consistent.rangemovement).
wait_for_join() {
  local waited=0 state down=0
  while true; do
    state="$(self_state)"
    if [[ "$state" == UN ]]; then
      log "this node ($NODE_IP) joined the ring: UN after ${waited}s at token $INITIAL_TOKEN"
      return 0
    fi
    if systemctl is-active --quiet cassandra; then down=0; else down=$((down + 1)); fi
    ((down < 3)) ||
      die "Cassandra is not running on $NODE_IP while it joins (state ${state:-unknown}): it may have refused to bootstrap (another node joining, leaving or moving) or failed; see /var/log/cassandra/system.log, then 'nodetool bootstrap resume' or restart it"
    ((waited < JOIN_WAIT_SECONDS)) ||
      die "this node ($NODE_IP) is ${state:-not listed}, not UN, after ${waited}s of bootstrap: it may still be streaming (nodetool netstats); the document's bound is ${JOIN_WAIT_SECONDS}s"
    if ((waited % JOIN_REPORT_SECONDS == 0)); then
      log "joining: this node ($NODE_IP) is ${state:-not listed yet} after ${waited}s ($({ nodetool netstats 2>/dev/null || true; } | sed -n 's/^Mode: //p' | head -n 1))"
    fi
    sleep 10
    waited=$((waited + 10))
  done
}

# seeds_up: true when every seed accepts connections on its CQL port.
seeds_up() {
  local seed
  for seed in "${WAIT_SEEDS[@]}"; do
    nc -z -w 3 "$seed" 9042 >/dev/null 2>&1 || return 1
  done
}

# wait_for_seeds: a non-seed node starts only once every seed is UN, which a seed shows by serving CQL (9042).
wait_for_seeds() {
  local waited=0
  until seeds_up; do
    ((waited < SEED_WAIT_SECONDS)) ||
      die "the seed nodes $WAIT_SEED_IPS do not all accept CQL on 9042 after ${waited}s: this node ($NODE_IP) was not started"
    log "waiting for the seed nodes $WAIT_SEED_IPS to be UN (CQL on 9042) before starting this node (${waited}s of ${SEED_WAIT_SECONDS}s)"
    sleep 10
    waited=$((waited + 10))
  done
  log "the seed nodes $WAIT_SEED_IPS are up"
}

# cql USER PASSWORD FILE: runs the CQL in FILE as USER. Credentials and statements are in root-only files, never on
# the command line; the output is shown with the new password masked.
cql() {
  local user="$1" password="$2" file="$3" rc="$CAPI_TMP/cqlshrc.$1" out status=0
  (
    umask 077
    printf '[authentication]\nusername = %s\ncredentials = %s\n[connection]\nrequest_timeout = 60\n' \
      "$user" "$CAPI_TMP/credentials.$user" >"$rc"
    printf '[PlainTextAuthProvider]\nusername = %s\npassword = %s\n' "$user" "$password" >"$CAPI_TMP/credentials.$user"
  )
  out="$(cqlsh --cqlshrc="$rc" --file="$file" "$NODE_IP" 9042 2>&1)" || status=$?
  if [[ -n "$out" ]]; then
    printf '%s\n' "${out//"$CASSANDRA_PASSWORD"/<redacted>}" >&2
  fi
  return "$status"
}

# wait_for_default_superuser FILE: runs FILE as the default superuser `cassandra`, polling every 10 s for up to
# SUPERUSER_WAIT_SECONDS until that role exists: Cassandra creates it superuser_setup_delay_ms after start, and only
# once the nodes agree on the auth schema.
wait_for_default_superuser() {
  local waited=0
  log "waiting for Cassandra's default superuser role 'cassandra' (created ${SUPERUSER_SETUP_DELAY_MS} ms after start; up to ${SUPERUSER_WAIT_SECONDS}s)"
  until cql cassandra cassandra "$1" 2>/dev/null; do
    ((waited < SUPERUSER_WAIT_SECONDS)) ||
      die "Cassandra's default superuser role 'cassandra' could not log in after ${waited}s (it is created ${SUPERUSER_SETUP_DELAY_MS} ms after start): see /var/log/cassandra/system.log on $NODE_IP"
    sleep 10
    waited=$((waited + 10))
  done
  log "logged in as the default superuser after ${waited}s"
}

setup_auth() {
  local rf=$((CLUSTER_SIZE < 3 ? CLUSTER_SIZE : 3)) throwaway quoted
  CASSANDRA_PASSWORD="$(read_secret cassandra/password)"
  (
    umask 077
    printf 'SELECT role FROM system_auth.roles LIMIT 1;\n' >"$CAPI_TMP/probe.cql"
  )
  if cql capillaries "$CASSANDRA_PASSWORD" "$CAPI_TMP/probe.cql" 2>/dev/null; then
    log "the capillaries role already logs in: authentication is set up"
    return 0
  fi
  quoted="${CASSANDRA_PASSWORD//\'/\'\'}"
  (
    umask 077
    cat >"$CAPI_TMP/auth.cql" <<EOF
ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': $rf};
CREATE ROLE IF NOT EXISTS capillaries WITH PASSWORD = '$quoted' AND SUPERUSER = true AND LOGIN = true;
ALTER ROLE capillaries WITH PASSWORD = '$quoted' AND SUPERUSER = true AND LOGIN = true;
EOF
  )
  # The default superuser's password is public knowledge; it is used once, then the role is locked.
  wait_for_default_superuser "$CAPI_TMP/auth.cql"
  # The auth rows written before the replication change exist on one replica only; repair copies them.
  nodetool repair --full system_auth >/dev/null
  throwaway="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  (
    umask 077
    printf "ALTER ROLE cassandra WITH PASSWORD = '%s' AND SUPERUSER = false AND LOGIN = false;\n" "$throwaway" \
      >"$CAPI_TMP/lock.cql"
  )
  retry 5 cql capillaries "$CASSANDRA_PASSWORD" "$CAPI_TMP/lock.cql"
  log "created the capillaries superuser and locked the default cassandra role"
}

CASSANDRA_PASSWORD=''
if [[ "$JOIN" == true ]] && systemctl is-active --quiet cassandra && [[ "$(self_state)" == UN ]] &&
  [[ "$(node_token)" == "$INITIAL_TOKEN" ]]; then
  log "this node ($NODE_IP) is already UN in the ring at its token $INITIAL_TOKEN: nothing to do"
  exit 0
fi
mount_data_disks
write_cassandra_yaml
write_cassandra_unit
if [[ "$IS_SEED" == false ]]; then
  wait_for_seeds
fi
service_up cassandra cassandra-config
if [[ "$JOIN" == true ]]; then
  log "this node ($NODE_IP) bootstraps into the running ring at token $INITIAL_TOKEN (seeds $SEED_IPS; up to ${JOIN_WAIT_SECONDS}s)"
  wait_for_join
  log "cassandra configure done (joined)"
  exit 0
fi
log "waiting for this node ($NODE_IP) to be UN"
wait_for_ring 1 900
if [[ "$SETUP_AUTH" == true ]]; then
  wait_for_ring "$CLUSTER_SIZE" 1800
  setup_auth
fi
log "cassandra configure done"
