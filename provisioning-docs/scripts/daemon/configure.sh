#!/usr/bin/env bash
# capi-daemon-configure: the Capillaries daemon as a systemd unit configured through CAPI_* variables in a
# root-only EnvironmentFile (it holds the Cassandra and AMQP passwords read from Parameter Store).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='[0-9]{1,3}(\.[0-9]{1,3}){3}'
CAPI_DEPLOYMENT="$(param DeploymentName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
CAPI_REGION="$(param Region '^[a-z]{2}(-gov)?-[a-z]+-[0-9]$')"
CASSANDRA_HOSTS="$(param CassandraHosts "^${IP}(,${IP})*$")"
RABBITMQ_IP="$(param RabbitmqIp "^${IP}$")"
THREAD_POOL_SIZE="$(param ThreadPoolSize '^[1-9][0-9]{0,2}$')"
WRITER_WORKERS="$(param WriterWorkers '^[1-9][0-9]{0,2}$')"

write_env() {
  local cassandra_password amqp_password
  cassandra_password="$(read_secret cassandra/password)"
  amqp_password="$(read_secret rabbitmq/user-password)"
  {
    env_line GOMEMLIMIT "$(mem_mib 75)MiB"
    env_line GOGC 100
    env_line AWS_DEFAULT_REGION "$CAPI_REGION"
    env_line CAPI_PROMETHEUS_EXPORTER_PORT 9201
    env_line CAPI_LOG_LEVEL info
    env_line CAPI_THREAD_POOL_SIZE "$THREAD_POOL_SIZE"
    env_line CAPI_CASSANDRA_HOSTS "$CASSANDRA_HOSTS"
    env_line CAPI_CASSANDRA_PORT 9042
    env_line CAPI_CASSANDRA_USERNAME capillaries
    env_line CAPI_CASSANDRA_PASSWORD "$cassandra_password"
    env_line CAPI_CASSANDRA_ENABLE_HOST_VERIFICATION false
    env_line CAPI_CASSANDRA_KEYSPACE_REPLICATION_CONFIG "{ 'class' : 'NetworkTopologyStrategy', 'datacenter1' : 1 }"
    env_line CAPI_CASSANDRA_CONSISTENCY LOCAL_QUORUM
    env_line CAPI_CASSANDRA_TIMEOUT 15000
    env_line CAPI_CASSANDRA_WRITER_WORKERS "$WRITER_WORKERS"
    env_line CAPI_MQ_TYPE amqp10
    env_line CAPI_AMQP10_URL "amqp://capiuser:$(urlencode "$amqp_password")@$RABBITMQ_IP:5672/"
    env_line CAPI_AMQP10_ADDRESS /queues/capidaemon
    # RabbitMQ dead-letters a rejected message into the 5 s delay queue (capi-rabbitmq-configure).
    env_line CAPI_AMQP10_RETRY_METHOD reject
    env_line CAPI_PYCALC_INTERPRETER_PATH python3
  } | write_file "${CAPI_ROOT}/etc/capillaries/capidaemon.env" 0600 capidaemon
}

write_daemon_unit() {
  write_unit capidaemon <<'EOF'
[Unit]
Description=Capillaries daemon
Wants=network-online.target
After=network-online.target

[Service]
User=capillaries
Group=capillaries
EnvironmentFile=/etc/capillaries/capidaemon.env
WorkingDirectory=/opt/capillaries/bin
ExecStart=/opt/capillaries/bin/capidaemon
# The daemon finishes its current batch on SIGINT, as capideploy stopped it.
KillSignal=SIGINT
TimeoutStopSec=60
Restart=on-failure
RestartSec=5
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
EOF
}

write_env
write_daemon_unit
service_up capidaemon
log "daemon configure done"
