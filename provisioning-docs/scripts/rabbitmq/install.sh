#!/usr/bin/env bash
# capi-rabbitmq-install: RabbitMQ 4 and a matching Erlang from Team RabbitMQ's apt repositories (the Cloudsmith
# mirrors deb1/deb2.rabbitmq.com: Ubuntu's own Erlang is too old for RabbitMQ 4), node_exporter and the AWS CLI.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
RABBITMQ_VERSION="$(param RabbitmqVersion '^4\.[0-9]{1,3}(\.[0-9]{1,3})?$')"
NODE_EXPORTER_VERSION="$(param NodeExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
KEYRING=/usr/share/keyrings/com.rabbitmq.team.gpg
# Team RabbitMQ's signing key, by fingerprint.
KEY_URL=https://keys.openpgp.org/vks/v1/by-fingerprint/0A9AF2115F4687BD29803A206B73A36E6026DFCA
ERLANG_PACKAGES=(erlang-base erlang-asn1 erlang-crypto erlang-eldap erlang-ftp erlang-inets erlang-mnesia
  erlang-os-mon erlang-parsetools erlang-public-key erlang-runtime-tools erlang-snmp erlang-ssl erlang-syntax-tools
  erlang-tftp erlang-tools erlang-xmerl)

add_repositories() {
  local codename mirror repo
  codename="$(os_codename)"
  # The signing key is fetched once; delete the keyring to fetch it again.
  if [[ ! -s "${CAPI_ROOT}${KEYRING}" ]]; then
    download "$KEY_URL" "$CAPI_TMP/rabbitmq-team.asc"
    gpg --dearmor <"$CAPI_TMP/rabbitmq-team.asc" | write_file "${CAPI_ROOT}${KEYRING}" 0644 apt-key
  fi
  for repo in rabbitmq-erlang rabbitmq-server; do
    for mirror in deb1 deb2; do
      printf 'deb [signed-by=%s] https://%s.rabbitmq.com/%s/ubuntu/%s %s main\n' \
        "$KEYRING" "$mirror" "$repo" "$codename" "$codename"
    done
  done | apt_source rabbitmq
  # Hold the RabbitMQ release (4.1 -> 4.1.*, 4.1.2 -> 4.1.2-*) the spec asks for, even when a newer one is published.
  local pin="${RABBITMQ_VERSION}.*"
  if [[ "$RABBITMQ_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    pin="${RABBITMQ_VERSION}-*"
  fi
  write_file "${CAPI_ROOT}/etc/apt/preferences.d/rabbitmq" 0644 <<EOF
Package: rabbitmq-server
Pin: version ${pin}
Pin-Priority: 1001
EOF
}

apt_install ca-certificates curl gnupg
add_repositories
apt_install "${ERLANG_PACKAGES[@]}"
apt_install rabbitmq-server
install_node_exporter "$NODE_EXPORTER_VERSION"
ensure_awscli
log "rabbitmq install done"
