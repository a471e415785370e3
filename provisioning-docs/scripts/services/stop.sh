#!/usr/bin/env bash
# capi-services-stop: stops a node's Capillaries services cleanly before its instance is stopped (stop-deployment).
# The workflow runs it role by role in this order: daemons and the bastion (webapi, UI), then RabbitMQ and
# Prometheus, then Cassandra. A Cassandra node is drained first (`nodetool drain`: memtables flushed, no more
# writes accepted, rc 0 once done) and then stopped, so the stop of the instance finds nothing in flight. Stopping
# a service that is not running, or not installed, is not an error: a second run changes nothing.
# A resize runs it on the daemons it removes (drain-daemons) before their instances are terminated.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
ROLE="$(param Role '^(bastion|rabbitmq|prometheus|cassandra|daemon)$')"
DRAIN_ATTEMPTS=5
# How long (seconds) capidaemon may take to finish the batches in progress after SIGINT, before `systemctl stop`
# (the unit's own TimeoutStopSec, then SIGKILL). Within the document's 900 s.
DAEMON_STOP_SECONDS=600

# stop_unit UNIT: stops UNIT when it is active; an absent or inactive unit is already stopped.
stop_unit() {
  if systemctl is-active --quiet "$1"; then
    log "stopping $1"
    systemctl stop "$1"
  else
    log "$1 is not running"
  fi
}

# stop_daemon: stops capidaemon gracefully. capidaemon quits cleanly on SIGINT only: it traps SIGTERM too, but acts
# on os.Interrupt alone (capillariesio/capillaries pkg/exe/daemon/capidaemon.go), which is why its unit has
# KillSignal=SIGINT. On SIGINT it stops taking messages, waits for the batches in progress to finish and be
# acknowledged, then exits 0. SIGINT goes to the main process only, so the Python processes of a batch in progress
# are not interrupted, and the script waits up to DAEMON_STOP_SECONDS for it to exit; `systemctl stop` then ends
# what is left (SIGINT to every process, SIGKILL after the unit's TimeoutStopSec). Nothing is lost even then: a
# batch cut short was never acknowledged, so RabbitMQ returns its message to the queue when the connection drops and
# another daemon runs it again.
stop_daemon() {
  local waited=0
  if ! systemctl is-active --quiet capidaemon; then
    log "capidaemon is not running"
    return 0
  fi
  log "stopping capidaemon: SIGINT, then up to ${DAEMON_STOP_SECONDS}s for the batches in progress to finish"
  systemctl kill --kill-who=main --signal=SIGINT capidaemon
  while systemctl is-active --quiet capidaemon && ((waited < DAEMON_STOP_SECONDS)); do
    sleep 5
    waited=$((waited + 5))
  done
  if systemctl is-active --quiet capidaemon; then
    log "capidaemon still runs after ${waited}s: stopping it (its unacknowledged messages go back to the queue)"
  else
    log "capidaemon exited after ${waited}s"
  fi
  systemctl stop capidaemon
}

case "$ROLE" in
daemon)
  stop_daemon
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
