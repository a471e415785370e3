#!/usr/bin/env bash
# capi-cassandra-cleanup: after the ring changed (nodes joined), drops from this node the data of the ranges it no
# longer owns. Cassandra does not remove it by itself after a range movement, and it keeps counting against the
# node's load until `nodetool cleanup` runs (Cassandra's topology-changes guide). Cleanup only deletes data outside
# the node's ranges, so running it again is harmless. ClusterSize is the ring size it cleans up for: it is a
# parameter so that the workflow runs the document once per ring change.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
CLUSTER_SIZE="$(param ClusterSize '^[1-9][0-9]{0,3}$')"

NODE_IP="$(imds meta-data/local-ipv4)"
[[ "$NODE_IP" =~ ^${IP}$ ]] || die "the instance metadata service gave no private IPv4 address"

# load_of: this node's load, from its line of `nodetool status` (the Load column, e.g. "1.2 MiB").
load_of() {
  { nodetool status 2>/dev/null || true; } | awk -v self="$NODE_IP" '$2 == self { print $3, $4; exit }'
}

STATE="$({ nodetool status 2>/dev/null || true; } | awk -v self="$NODE_IP" '$2 == self { print $1; exit }')"
[[ -n "$STATE" ]] || die "nodetool status does not list this node ($NODE_IP): is Cassandra running? (systemctl status cassandra)"
[[ "$STATE" == UN ]] || die "this node ($NODE_IP) is $STATE, not UN: cleanup waits until the ring has settled"
UP="$({ nodetool status 2>/dev/null || true; } | awk '$1 == "UN" { n++ } END { print n + 0 }')"
if ((UP != CLUSTER_SIZE)); then
  log "note: $UP nodes are UN, the ring should have $CLUSTER_SIZE"
fi
log "load before cleanup: $(load_of) (ring of $CLUSTER_SIZE)"
nodetool cleanup || die "nodetool cleanup failed on $NODE_IP: see /var/log/cassandra/system.log"
log "load after cleanup: $(load_of); $({ nodetool info 2>/dev/null || true; } | awk -F': *' '$1 ~ /^Load *$/ { print "nodetool info load " $2; exit }')"
log "cassandra cleanup done"
