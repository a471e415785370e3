#!/usr/bin/env bash
# capi-services-start: brings a node's services back after its instance was started again (start-deployment).
#
# Cassandra: the data lived on the instance-store NVMe disks, which come back blank after a stop. systemd may have
# started the node at boot on an empty /data of the root volume (the fstab entry is nofail and its UUID is gone):
# this step stops it and removes what it wrote there, so that capi-cassandra-configure, which the workflow runs
# next on every Cassandra node, formats and mounts the new disks and starts the node on them.
# Other roles: their units are enabled and started at boot; they are started (and the Capillaries services
# restarted, so they reconnect to a Cassandra and a RabbitMQ that came up after them). A second run changes nothing
# that a first one did not.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
ROLE="$(param Role '^(bastion|rabbitmq|prometheus|cassandra|daemon)$')"

case "$ROLE" in
cassandra)
  if mountpoint -q "${CAPI_ROOT}/data"; then
    log "/data is mounted: the instance-store data is still there"
  else
    log "/data is not mounted: the instance-store data was lost with the stop; stopping Cassandra for its reconfiguration"
    systemctl stop cassandra || true
    if [[ -d "${CAPI_ROOT}/data" ]]; then
      find "${CAPI_ROOT}/data" -mindepth 1 -delete
    fi
  fi
  ;;
rabbitmq)
  systemctl start rabbitmq-server
  ;;
prometheus)
  systemctl start prometheus
  ;;
daemon)
  systemctl restart capidaemon
  ;;
bastion)
  systemctl restart capiwebapi
  systemctl start nginx
  ;;
esac
log "services of this $ROLE node started"
