#!/usr/bin/env bash
# capi-daemon-configure: the Capillaries daemon as a systemd unit configured through CAPI_* variables in a
# root-only EnvironmentFile (it holds the Cassandra and AMQP passwords read from Parameter Store).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
CAPI_DEPLOYMENT="$(param DeploymentName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
CAPI_REGION="$(param Region '^[a-z]{2}(-gov)?-[a-z]{4,16}-[1-9]$')"
CASSANDRA_HOSTS="$(param CassandraHosts "^${IP}(,${IP})*$")"
RABBITMQ_IP="$(param RabbitmqIp "^${IP}$")"
THREAD_POOL_SIZE="$(param ThreadPoolSize '^[1-9][0-9]{0,2}$')"
WRITER_WORKERS="$(param WriterWorkers '^[1-9][0-9]{0,2}$')"

write_env() {
  read_data_secrets
  {
    env_line GOMEMLIMIT "$(mem_mib 75)MiB"
    env_line GOGC 100
    env_line AWS_DEFAULT_REGION "$CAPI_REGION"
    env_line CAPI_PROMETHEUS_EXPORTER_PORT 9201
    env_line CAPI_LOG_LEVEL info
    env_line CAPI_THREAD_POOL_SIZE "$THREAD_POOL_SIZE"
    capillaries_data_env "$CASSANDRA_HOSTS" "$RABBITMQ_IP"
    env_line CAPI_CASSANDRA_WRITER_WORKERS "$WRITER_WORKERS"
    # RabbitMQ dead-letters a rejected message into the 5 s delay queue (capi-rabbitmq-configure).
    env_line CAPI_AMQP10_RETRY_METHOD reject
    env_line CAPI_PYCALC_INTERPRETER_PATH python3
  } | write_file "${CAPI_ROOT}/etc/capillaries/capidaemon.env" 0600 capidaemon
}

write_env
capillaries_unit capidaemon 'Capillaries daemon'
service_up capidaemon
log "daemon configure done"
