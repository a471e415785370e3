#!/usr/bin/env bash
# capi-prometheus-configure: prometheus.yml and the Prometheus systemd unit. It scrapes every node's node_exporter
# (:9100, NodeTargets), every Cassandra node's JMX exporter agent (:7070, JmxTargets), the Capillaries daemons' and
# webapi's own Prometheus exporters (DaemonTargets :9201, WebapiTargets :9200: the binaries serve /metrics on
# CAPI_PROMETHEUS_EXPORTER_PORT, capillariesio/capillaries pkg/exe/daemon/capidaemon.go and
# pkg/exe/webapi/capiwebapi.go; the ports are the Terraform deployment's, deploy/variables.tf) and RabbitMQ's
# rabbitmq_prometheus plugin (:15692 /metrics, RabbitmqTargets; RabbitMQ's "Monitoring with Prometheus" guide).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
TARGET="${IP}:[1-9][0-9]{0,4}"
NODE_TARGETS="$(param NodeTargets "^${TARGET}(,${TARGET})*$")"
JMX_TARGETS="$(param JmxTargets "^(${TARGET}(,${TARGET})*)?$")"
DAEMON_TARGETS="$(param DaemonTargets "^(${TARGET}(,${TARGET})*)?$")"
WEBAPI_TARGETS="$(param WebapiTargets "^(${TARGET}(,${TARGET})*)?$")"
RABBITMQ_TARGETS="$(param RabbitmqTargets "^(${TARGET}(,${TARGET})*)?$")"
CONFIG=/etc/prometheus/prometheus.yml

# targets LIST: one YAML list item per comma-separated target.
targets() {
  local target list
  IFS=, read -ra list <<<"$1"
  for target in "${list[@]}"; do
    printf "          - '%s'\n" "$target"
  done
}

# job NAME LIST: a scrape job of the targets in LIST (nothing when LIST is empty); every exporter serves /metrics.
job() {
  if [[ -n "$2" ]]; then
    printf '  - job_name: %s\n    static_configs:\n      - targets:\n' "$1"
    targets "$2"
  fi
}

write_config() {
  {
    cat <<'EOF'
# Written by capideploy (capi-prometheus-configure); a re-run overwrites it.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:9090']
  - job_name: node
    scrape_interval: 5s
    static_configs:
      - targets:
EOF
    targets "$NODE_TARGETS"
    job cassandra-jmx "$JMX_TARGETS"
    job capidaemon "$DAEMON_TARGETS"
    job capiwebapi "$WEBAPI_TARGETS"
    job rabbitmq "$RABBITMQ_TARGETS"
  } | write_file "${CAPI_ROOT}${CONFIG}" 0644 prometheus-config
}

write_unit_file() {
  write_unit prometheus <<'EOF'
[Unit]
Description=Prometheus server
Wants=network-online.target
After=network-online.target

[Service]
User=prometheus
Group=prometheus
ExecStart=/usr/local/bin/prometheus --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/var/lib/prometheus --storage.tsdb.retention.time=7d --web.listen-address=:9090
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
EOF
}

write_config
promtool check config --syntax-only "${CAPI_ROOT}${CONFIG}" >/dev/null
write_unit_file
service_up prometheus
# A changed target list needs no restart: Prometheus reloads its configuration on SIGHUP.
if changed prometheus-config && ! changed prometheus; then
  systemctl reload prometheus
fi
IFS=, read -ra ALL_TARGETS <<<"$NODE_TARGETS${JMX_TARGETS:+,$JMX_TARGETS}${DAEMON_TARGETS:+,$DAEMON_TARGETS}${WEBAPI_TARGETS:+,$WEBAPI_TARGETS}${RABBITMQ_TARGETS:+,$RABBITMQ_TARGETS}"
log "prometheus configure done (${#ALL_TARGETS[@]} targets)"
