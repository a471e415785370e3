#!/usr/bin/env bash
# capi-cassandra-install: Java 17, Cassandra 5.0 from the Apache apt repository (50x), the Prometheus JMX exporter
# agent, node_exporter and the AWS CLI. Cassandra is NOT started here: the package would start it with the default
# "Test Cluster" configuration, so its init script is held back and capi-cassandra-configure starts it once.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh
# shellcheck source=../lib/awscli.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/awscli.sh" # capi:inline lib/awscli.sh

require_root
CASSANDRA_VERSION="$(param CassandraVersion '^5\.0(\.[0-9]{1,3})?$')"
JMX_EXPORTER_VERSION="$(param JmxExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
NODE_EXPORTER_VERSION="$(param NodeExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
KEYRING=/etc/apt/keyrings/apache-cassandra.asc
POLICY_RC="${CAPI_ROOT}/usr/sbin/policy-rc.d"
JMX_DIR=/opt/jmx_exporter
CQLSH_VERSION=6.2.2

add_repository() {
  # The signing keys are fetched once; delete the keyring to fetch them again.
  if [[ ! -s "${CAPI_ROOT}${KEYRING}" ]]; then
    download https://downloads.apache.org/cassandra/KEYS "$CAPI_TMP/cassandra.KEYS"
    write_file "${CAPI_ROOT}${KEYRING}" 0644 apt-key <"$CAPI_TMP/cassandra.KEYS"
  fi
  printf 'deb [signed-by=%s] https://debian.cassandra.apache.org 50x main\n' "$KEYRING" | apt_source cassandra
}

allow_service_starts() { rm -f "$POLICY_RC"; }

install_cassandra() {
  local package=cassandra
  # A full version (5.0.4) is installed exactly; a series (5.0) takes the newest 5.0.x of the 50x repository.
  if [[ "$CASSANDRA_VERSION" =~ ^5\.0\.[0-9]+$ ]]; then
    package="cassandra=$CASSANDRA_VERSION"
  fi
  if dpkg_installed cassandra; then
    return 0
  fi
  # policy-rc.d exit code 101 tells the package scripts not to start the service (Debian policy, invoke-rc.d).
  on_exit allow_service_starts
  printf '#!/bin/sh\nexit 101\n' | write_file "$POLICY_RC" 0755 policy
  apt_install "$package"
  allow_service_starts
}

install_jmx_exporter() {
  local jar="jmx_prometheus_javaagent-${JMX_EXPORTER_VERSION}.jar" sha1
  local url="https://repo1.maven.org/maven2/io/prometheus/jmx/jmx_prometheus_javaagent/${JMX_EXPORTER_VERSION}/$jar"
  if [[ ! -f "${CAPI_ROOT}${JMX_DIR}/$jar" ]]; then
    download "$url.sha1" "$CAPI_TMP/$jar.sha1"
    download "$url" "$CAPI_TMP/$jar"
    # Maven Central publishes a SHA-1 per artifact: enough to catch a truncated or corrupted download.
    sha1="$(cut -c1-40 "$CAPI_TMP/$jar.sha1")"
    [[ "$(sha1sum "$CAPI_TMP/$jar" | cut -d' ' -f1)" == "$sha1" ]] || die "checksum mismatch for $url"
    write_file "${CAPI_ROOT}${JMX_DIR}/$jar" 0644 jmx <"$CAPI_TMP/$jar"
  fi
  # A stable name, so the Cassandra unit does not change with the exporter version.
  link "${CAPI_ROOT}${JMX_DIR}/jmx_prometheus_javaagent.jar" "$JMX_DIR/$jar" jmx
  write_file "${CAPI_ROOT}/etc/cassandra/jmx_exporter.yml" 0644 jmx <<'EOF'
# Cassandra metrics for Prometheus (rules from the Capillaries Terraform deployment).
lowercaseOutputLabelNames: true
lowercaseOutputName: true
includeObjectNames: ["org.apache.cassandra.metrics:*"]
# ColumnFamily is an alias of the Table metrics.
excludeObjectNames: ["org.apache.cassandra.metrics:type=ColumnFamily,*"]
rules:
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=(\S*)><>Value
    name: cassandra_$1_$5
    type: GAUGE
    labels:
      "$1": "$4"
      "$2": "$3"
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=(.+)?(?:Total)(Latency)><>Count
    name: cassandra_$1_$5$6_seconds_sum
    type: UNTYPED
    labels:
      "$1": "$4"
      "$2": "$3"
    valueFactor: 0.000001
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=((?:.+)?(?:Latency))><>Count
    name: cassandra_$1_$5_seconds_count
    type: UNTYPED
    labels:
      "$1": "$4"
      "$2": "$3"
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=(.+)><>Count
    name: cassandra_$1_$5_count
    type: UNTYPED
    labels:
      "$1": "$4"
      "$2": "$3"
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=((?:.+)?(?:Latency))><>(\d+)thPercentile
    name: cassandra_$1_$5_seconds
    type: GAUGE
    labels:
      "$1": "$4"
      "$2": "$3"
      quantile: "0.$6"
    valueFactor: 0.000001
  - pattern: org.apache.cassandra.metrics<type=(\S*)(?:, ((?!scope)\S*)=(\S*))?(?:, scope=(\S*))?, name=(.+)><>(\d+)thPercentile
    name: cassandra_$1_$5
    type: GAUGE
    labels:
      "$1": "$4"
      "$2": "$3"
      quantile: "0.$6"
EOF
}

# ensure_cqlsh: a cqlsh that runs. The one packaged with Cassandra 5.0 releases before CASSANDRA-20997 refuses
# Python 3.12 (Ubuntu 24.04's); then a pinned cqlsh from PyPI goes into its own virtualenv, first on PATH.
ensure_cqlsh() {
  if cqlsh --version >/dev/null 2>&1; then
    return 0
  fi
  log "the packaged cqlsh does not run on this Python: installing cqlsh $CQLSH_VERSION from PyPI"
  apt_install python3-venv
  if [[ ! -x "${CAPI_ROOT}/opt/cqlsh/bin/pip" ]]; then
    python3 -m venv "${CAPI_ROOT}/opt/cqlsh"
  fi
  retry 5 "${CAPI_ROOT}/opt/cqlsh/bin/pip" install --quiet --disable-pip-version-check "cqlsh==$CQLSH_VERSION"
  link "${CAPI_ROOT}/usr/local/bin/cqlsh" /opt/cqlsh/bin/cqlsh cqlsh
}

tune_kernel() {
  # Cassandra's production recommendation: many memory-mapped SSTable segments, no swapping.
  write_file "${CAPI_ROOT}/etc/sysctl.d/60-cassandra.conf" 0644 sysctl <<'EOF'
vm.max_map_count = 1048575
vm.swappiness = 1
EOF
  if changed sysctl; then
    sysctl -q -p "${CAPI_ROOT}/etc/sysctl.d/60-cassandra.conf"
  fi
}

# netcat-openbsd: capi-cassandra-configure probes the seeds' CQL port with `nc -z` before a non-seed node starts.
apt_install ca-certificates curl gnupg openjdk-17-jre-headless sysstat xfsprogs netcat-openbsd
add_repository
install_cassandra
# Fail closed on the versions Cassandra runs with: the requested release (a series takes its newest 5.0.x) and Java
# 17, the newest Java Cassandra 5.0 supports (Cassandra 5.0 runs on Java 11 or 17).
if [[ "$CASSANDRA_VERSION" =~ ^5\.0\.[0-9]+$ ]]; then
  require_version cassandra "^${CASSANDRA_VERSION//./\\.}([^0-9].*)?$" "Cassandra $CASSANDRA_VERSION"
else
  require_version cassandra '^5\.0\.' "Cassandra 5.0.x from the Apache 50x repository"
fi
require_version openjdk-17-jre-headless '^17\.' 'OpenJDK 17 (Ubuntu 24.04)'
install_jmx_exporter
ensure_cqlsh
tune_kernel
install_node_exporter "$NODE_EXPORTER_VERSION"
ensure_awscli
log "cassandra install done"
