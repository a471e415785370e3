#!/usr/bin/env bash
# capi-cassandra-decommission: takes this Cassandra node out of the ring before its instance is terminated (a resize
# that removes nodes, one at a time, highest first). `nodetool decommission` streams the node's data to the nodes
# that take over its range and blocks until it is done (hours for a large node); with replication factor 1 it is the
# only way to remove a node without losing its data (removenode streams from replicas, and there are none). Then the
# node is stopped and its unit disabled, so a reboot does not bring it back.
#
# It refuses unless this node is UN and every node of the ring is UN: a range movement while another node joins,
# leaves or moves fails (cassandra.consistent.rangemovement), and a down node could not receive its share.
# Idempotent: a node this document already decommissioned (its marker is written, Cassandra stopped) is left alone;
# a node whose decommission finished, or is still streaming after an interrupted run, is waited for and stopped.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
# Written once the decommission completed: the node left the ring for good.
MARKER="${CAPI_ROOT}/var/lib/capideploy/cassandra-decommissioned"
# How long (seconds) to wait for a decommission started by an earlier, interrupted run: the document's 21600 s less
# a margin for the stop.
LEAVE_WAIT_SECONDS=21000

NODE_IP="$(imds meta-data/local-ipv4)"
[[ "$NODE_IP" =~ ^${IP}$ ]] || die "the instance metadata service gave no private IPv4 address"

# operation_mode: Cassandra's operation mode on this node (NORMAL, JOINING, LEAVING, DECOMMISSIONED, …) from
# `nodetool netstats`; empty when nodetool does not answer.
operation_mode() {
  { nodetool netstats 2>/dev/null || true; } | sed -n 's/^Mode: *//p' | head -n 1
}

# ring_states: one "STATE ADDRESS" line per node of `nodetool status` (UN, UJ, UL, UM, DN, …).
ring_states() {
  { nodetool status 2>/dev/null || true; } | awk '$1 ~ /^[UD][NJLM]$/ { print $1, $2 }'
}

# stop_for_good: stops Cassandra on the decommissioned node and disables its unit, then records it.
stop_for_good() {
  log "stopping Cassandra and disabling its unit: this node left the ring"
  systemctl stop cassandra
  systemctl disable --quiet cassandra
  printf 'decommissioned %s\n' "$NODE_IP" | write_file "$MARKER" 0644 decommissioned
  log "this node ($NODE_IP) is decommissioned"
}

# wait_for_leave: waits until a decommission already under way on this node (mode LEAVING) completes.
wait_for_leave() {
  local waited=0 mode
  while true; do
    mode="$(operation_mode)"
    [[ "$mode" == DECOMMISSIONED ]] && return 0
    [[ "$mode" == LEAVING ]] ||
      die "this node ($NODE_IP) stopped leaving the ring (mode ${mode:-unknown}): see /var/log/cassandra/system.log"
    ((waited < LEAVE_WAIT_SECONDS)) ||
      die "this node ($NODE_IP) is still leaving the ring after ${waited}s: it may still be streaming (nodetool netstats)"
    if ((waited % 300 == 0)); then log "waiting for the decommission under way on $NODE_IP (${waited}s)"; fi
    sleep 10
    waited=$((waited + 10))
  done
}

if [[ -f "$MARKER" ]] && ! systemctl is-active --quiet cassandra; then
  log "this node ($NODE_IP) was already decommissioned and Cassandra is stopped: nothing to do"
  exit 0
fi
MODE="$(operation_mode)"
case "$MODE" in
DECOMMISSIONED)
  log "the decommission of this node ($NODE_IP) already completed"
  stop_for_good
  exit 0
  ;;
LEAVING)
  log "a decommission of this node ($NODE_IP) is already under way (an earlier run was interrupted): waiting for it"
  wait_for_leave
  stop_for_good
  exit 0
  ;;
'')
  die "Cassandra does not answer nodetool on this node ($NODE_IP) and this document did not decommission it: start it first (removing a dead node would lose its data at replication factor 1)"
  ;;
esac

STATES="$(ring_states)"
log "ring before the decommission:"$'\n'"$STATES"
SELF="$(awk -v self="$NODE_IP" '$2 == self { print $1; exit }' <<<"$STATES")"
[[ "$SELF" == UN ]] || die "this node ($NODE_IP) is ${SELF:-not in the ring}, not UN: refusing to decommission it"
BUSY="$(awk '$1 != "UN" { printf "%s%s %s", sep, $2, $1; sep = ", " }' <<<"$STATES")"
[[ -z "$BUSY" ]] ||
  die "not every node is UN ($BUSY): refusing to decommission $NODE_IP while a node joins, leaves, moves or is down (one range movement at a time)"
(($(wc -l <<<"$STATES") > 1)) || die "this node ($NODE_IP) is the only node of the ring: refusing to decommission it"

log "decommissioning this node ($NODE_IP): its data streams to the nodes that take over its range"
nodetool decommission || die "nodetool decommission failed on $NODE_IP (mode $(operation_mode)): see /var/log/cassandra/system.log"
MODE="$(operation_mode)"
[[ "$MODE" == DECOMMISSIONED ]] || die "nodetool decommission returned but this node ($NODE_IP) is in mode ${MODE:-unknown}, not DECOMMISSIONED"
stop_for_good
