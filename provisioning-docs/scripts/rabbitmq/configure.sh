#!/usr/bin/env bash
# capi-rabbitmq-configure: broker config and plugins (management, prometheus; AMQP 1.0 is native in RabbitMQ 4),
# the capiadmin and capiuser accounts with passwords from Parameter Store, no guest account, and the capidaemon
# queue with the Terraform deployment's dead-letter loop that redelivers a rejected message after 5 s.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
CAPI_DEPLOYMENT="$(param DeploymentName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
CAPI_REGION="$(param Region '^[a-z]{2}(-gov)?-[a-z]{4,16}-[1-9]$')"
ADMIN=capiadmin
USER_NAME=capiuser
API=http://127.0.0.1:15672/api

write_broker_config() {
  write_file "${CAPI_ROOT}/etc/rabbitmq/rabbitmq.conf" 0644 rabbitmq-server <<'EOF'
# Written by capideploy (capi-rabbitmq-configure). AMQP 1.0 and 0-9-1 share the 5672 listener in RabbitMQ 4.
listeners.tcp.default = 5672
management.tcp.port = 15672
log.file.rotation.date = $D0
log.file.rotation.count = 5
log.file.rotation.compress = true
EOF
  write_file "${CAPI_ROOT}/etc/rabbitmq/enabled_plugins" 0644 rabbitmq-server <<'EOF'
[rabbitmq_management,rabbitmq_prometheus].
EOF
}

# awk reads the whole listing (grep -q would stop early and fail the pipeline with SIGPIPE under pipefail).
user_exists() { rabbitmqctl -s list_users | awk -v name="$1" '$1 == name { found = 1 } END { exit !found }'; }

# ensure_user NAME PASSWORD: creates NAME or resets its password. rabbitmqctl reads the password from standard input
# when it is left off the command line, so it never shows in the process list.
ensure_user() {
  if user_exists "$1"; then
    printf '%s\n' "$2" | rabbitmqctl -s change_password "$1"
  else
    printf '%s\n' "$2" | rabbitmqctl -s add_user "$1"
  fi
  rabbitmqctl -s set_permissions -p / "$1" '.*' '.*' '.*'
}

# api METHOD PATH JSON: one management API call as capiadmin; the credentials sit in a root-only curl config file.
api() {
  local status
  status="$(curl -sS -o "$CAPI_TMP/api.out" -w '%{http_code}' -K "$CAPI_TMP/admin.curl" -X "$1" \
    -H 'content-type: application/json' --data "$3" "$API/$2")" || return 1
  [[ "$status" == 2* ]] || {
    printf 'management API %s %s answered %s\n' "$1" "$2" "$status" >&2
    return 1
  }
}

declare_topology() {
  # Rejected messages go to capidaemon.dlq through capillaries.dlx, wait there 5 s (x-message-ttl), then are
  # dead-lettered back to capidaemon through the capillaries exchange. Unlike the Terraform deployment, the
  # exchanges are durable so the loop survives a broker restart.
  retry 10 api PUT exchanges/%2F/capillaries '{"type":"direct","durable":true}'
  retry 3 api PUT exchanges/%2F/capillaries.dlx '{"type":"direct","durable":true}'
  local work='"x-dead-letter-exchange":"capillaries.dlx","x-dead-letter-routing-key":"capidaemon.dlq"'
  local delay='"x-message-ttl":5000,"x-dead-letter-exchange":"capillaries","x-dead-letter-routing-key":"capidaemon"'
  retry 3 api PUT queues/%2F/capidaemon "{\"durable\":true,\"arguments\":{\"x-queue-type\":\"quorum\",$work}}"
  retry 3 api PUT queues/%2F/capidaemon.dlq "{\"durable\":true,\"arguments\":{\"x-queue-type\":\"quorum\",$delay}}"
  retry 3 api POST bindings/%2F/e/capillaries/q/capidaemon '{"routing_key":"capidaemon"}'
  retry 3 api POST bindings/%2F/e/capillaries.dlx/q/capidaemon.dlq '{"routing_key":"capidaemon.dlq"}'
}

write_broker_config
service_up rabbitmq-server
retry 10 rabbitmqctl -s await_startup

admin_password="$(read_secret rabbitmq/admin-password)"
user_password="$(read_secret rabbitmq/user-password)"
ensure_user "$ADMIN" "$admin_password"
rabbitmqctl -s set_user_tags "$ADMIN" administrator
ensure_user "$USER_NAME" "$user_password"
if user_exists guest; then
  rabbitmqctl -s delete_user guest
fi

# curl reads the credentials from a root-only config file: quoted, with \ and " escaped.
curl_password="${admin_password//\\/\\\\}"
curl_password="${curl_password//\"/\\\"}"
(
  umask 077
  printf 'user = "%s:%s"\n' "$ADMIN" "$curl_password" >"$CAPI_TMP/admin.curl"
)
declare_topology
log "rabbitmq configure done"
