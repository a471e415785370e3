#!/usr/bin/env bash
# capi-bastion-configure: the log volume at /mnt/capi_log (install mounts it too, but a bastion restored from an image
# skips install), the webapi as a systemd unit configured with CAPI_* variables, and nginx in front of the UI (80),
# the webapi (6544 -> 127.0.0.1:6543), the RabbitMQ console (15672) and Prometheus (9090), each behind the operator's
# allow-list.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
IP='(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}'
CIDR="${IP}/(3[0-2]|[12]?[0-9])"
LABEL='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
CAPI_DEPLOYMENT="$(param DeploymentName '^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
CAPI_REGION="$(param Region '^[a-z]{2}(-gov)?-[a-z]{4,16}-[1-9]$')"
ALLOWED_CIDRS="$(param AllowedCidrs "^${CIDR}(,${CIDR})*$")"
CASSANDRA_HOSTS="$(param CassandraHosts "^${IP}(,${IP})*$")"
RABBITMQ_IP="$(param RabbitmqIp "^${IP}$")"
PROMETHEUS_IP="$(param PrometheusIp "^${IP}$")"
PUBLIC_ADDRESS="$(param PublicAddress "^(${LABEL}(\\.${LABEL})*)?$")"
LOG_VOLUME_ID="$(param LogVolumeId '^vol-([0-9a-f]{8}|[0-9a-f]{17})$')"
LOG_MOUNT=/mnt/capi_log
NGINX="${CAPI_ROOT}/etc/nginx"
ALLOW_LIST=/etc/nginx/capideploy/allowed_ips.conf

public_address() {
  # The bastion's Elastic IP is associated before this runs; the browser reaches the UI and webapi through it.
  if [[ -n "$PUBLIC_ADDRESS" ]]; then
    printf '%s' "$PUBLIC_ADDRESS"
    return 0
  fi
  imds meta-data/public-ipv4 || die "no public IPv4 in the instance metadata: pass the PublicAddress parameter"
}

write_allow_list() {
  local cidr cidrs
  IFS=, read -ra cidrs <<<"$ALLOWED_CIDRS"
  {
    printf '# Written by capideploy: the operator allow-list (AllowedCidrs). Loopback is allowed for health checks.\n'
    printf 'allow 127.0.0.1;\nallow ::1;\n'
    for cidr in "${cidrs[@]}"; do
      printf 'allow %s;\n' "$cidr"
    done
    printf 'deny all;\n'
  } | write_file "${CAPI_ROOT}${ALLOW_LIST}" 0644 nginx
}

# site NAME < SERVER_BLOCK: an nginx site, enabled by a symbolic link.
site() {
  write_file "$NGINX/sites-available/capi-$1" 0644 nginx
  link "$NGINX/sites-enabled/capi-$1" "/etc/nginx/sites-available/capi-$1" nginx
}

# proxy_site NAME PORT UPSTREAM: a reverse proxy on PORT, behind the allow-list.
proxy_site() {
  site "$1" <<EOF
server {
    listen $2;
    listen [::]:$2;
    include $ALLOW_LIST;
    location / {
        proxy_pass $3;
        include proxy_params;
    }
}
EOF
}

write_sites() {
  local address="$1"
  # The UI is built to call the webapi at localhost:6543; nginx rewrites that to the bastion's public webapi port
  # while serving the files, so the files on disk stay as released and a new address needs no re-install.
  site ui <<EOF
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    root /var/www/capillaries-ui;
    index index.html;
    include $ALLOW_LIST;
    location / {
        try_files \$uri \$uri/ /index.html;
        sub_filter 'localhost:6543' '$address:6544';
        sub_filter_once off;
        sub_filter_types application/javascript text/javascript;
    }
}
EOF
  proxy_site webapi 6544 http://127.0.0.1:6543
  proxy_site rabbitmq 15672 "http://$RABBITMQ_IP:15672"
  proxy_site prometheus 9090 "http://$PROMETHEUS_IP:9090"
}

write_webapi_env() {
  local address="$1"
  read_data_secrets
  {
    env_line GOMEMLIMIT "$(mem_mib 50)MiB"
    env_line GOGC 100
    env_line AWS_DEFAULT_REGION "$CAPI_REGION"
    env_line CAPI_WEBAPI_PORT 6543
    env_line CAPI_WEBAPI_ACCESS_CONTROL_ALLOW_ORIGIN "http://$address"
    env_line CAPI_PROMETHEUS_EXPORTER_PORT 9200
    env_line CAPI_LOG_LEVEL info
    capillaries_data_env "$CASSANDRA_HOSTS" "$RABBITMQ_IP"
  } | write_file "${CAPI_ROOT}/etc/capillaries/capiwebapi.env" 0600 capiwebapi
}

mount_log_volume "$LOG_VOLUME_ID" "$LOG_MOUNT"
ADDRESS="$(public_address)"
log "public address $ADDRESS"
write_webapi_env "$ADDRESS"
capillaries_unit capiwebapi 'Capillaries webapi'
service_up capiwebapi
write_allow_list
write_sites "$ADDRESS"
nginx -t -q
systemctl enable --quiet nginx
if changed nginx; then
  systemctl reload-or-restart nginx
else
  systemctl start nginx
fi
log "bastion configure done"
