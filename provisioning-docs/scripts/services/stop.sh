#!/usr/bin/env bash
# capi-services-stop: stops a node's Capillaries services cleanly before its instance is stopped (stop-deployment).
# The workflow runs it role by role in this order: daemons and the bastion (webapi, UI), then RabbitMQ and
# Prometheus, then Cassandra. A Cassandra node is drained first (`nodetool drain`: memtables flushed, no more
# writes accepted, rc 0 once done) and then stopped, so the stop of the instance finds nothing in flight. Stopping
# a service that is not running, or not installed, is not an error: a second run changes nothing.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
ROLE="$(param Role '^(bastion|rabbitmq|prometheus|cassandra|daemon)$')"
DRAIN_ATTEMPTS=5

# stop_unit UNIT: stops UNIT when it is active; an absent or inactive unit is already stopped.
stop_unit() {
  if systemctl is-active --quiet "$1"; then
    log "stopping $1"
    systemctl stop "$1"
  else
    log "$1 is not running"
  fi
}

case "$ROLE" in
daemon)
  # capidaemon finishes its current batch on SIGTERM (systemd's stop) before it exits.
  stop_unit capidaemon
  ;;
bastion)
  stop_unit capiwebapi
  stop_unit nginx
  ;;
rabbitmq)
  stop_unit rabbitmq-server
  ;;
prometheus)
  stop_unit prometheus
  ;;
cassandra)
  if systemctl is-active --quiet cassandra; then
    log "draining Cassandra (nodetool drain)"
    retry "$DRAIN_ATTEMPTS" nodetool drain || die "nodetool drain failed $DRAIN_ATTEMPTS times; the node is still up"
  fi
  stop_unit cassandra
  ;;
esac
log "services of this $ROLE node stopped"
