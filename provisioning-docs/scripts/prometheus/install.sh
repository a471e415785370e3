#!/usr/bin/env bash
# capi-prometheus-install: the Prometheus server from its GitHub release (checksum-verified) and node_exporter.
# The configuration and the systemd unit are capi-prometheus-configure's.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
PROMETHEUS_VERSION="$(param PrometheusVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
NODE_EXPORTER_VERSION="$(param NodeExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"

install_prometheus() {
  local arch name
  arch="$(node_arch)"
  name="prometheus-${PROMETHEUS_VERSION}.linux-${arch}"
  ensure_system_user prometheus
  # A versioned directory: a re-run with the same version downloads nothing, a new version installs beside it.
  if [[ ! -x "${CAPI_ROOT}/opt/${name}/prometheus" ]]; then
    fetch_release_tarball "https://github.com/prometheus/prometheus/releases/download/v${PROMETHEUS_VERSION}" \
      "${name}.tar.gz" "${CAPI_ROOT}/opt"
  fi
  link "${CAPI_ROOT}/usr/local/bin/prometheus" "/opt/${name}/prometheus" prometheus
  link "${CAPI_ROOT}/usr/local/bin/promtool" "/opt/${name}/promtool" prometheus
  mkdir -p "${CAPI_ROOT}/etc/prometheus" "${CAPI_ROOT}/var/lib/prometheus"
  chown prometheus:prometheus "${CAPI_ROOT}/var/lib/prometheus"
  if changed prometheus && [[ -f "${CAPI_ROOT}/etc/systemd/system/prometheus.service" ]]; then
    systemctl restart prometheus
  fi
}

install_prometheus
install_node_exporter "$NODE_EXPORTER_VERSION"
log "prometheus install done"
