#!/usr/bin/env bash
# capi-rabbitmq-install: RabbitMQ 4 with Erlang 27 on arm64 and amd64, node_exporter and the AWS CLI.
#
# Sources (Team RabbitMQ's "Installing on Debian and Ubuntu" guide, rabbitmq/rabbitmq-website
# versioned_docs/version-4.1/install-debian.md, and "Erlang Version Requirements", which-erlang.md):
# - Erlang from Team RabbitMQ's Launchpad PPA ppa:rabbitmq/rabbitmq-erlang-27, on both architectures. Team
#   RabbitMQ's own Erlang apt repository (deb1/deb2.rabbitmq.com, formerly Cloudsmith) has amd64 packages only;
#   its guide sends arm64 to the Launchpad PPAs, which Launchpad builds for arm64 too. The -27 series PPA rather
#   than ppa:rabbitmq/rabbitmq-erlang: that one follows the newest Erlang major, and RabbitMQ 4.1 supports
#   Erlang 26.2 to 27.x only ("Erlang 28 is not supported by RabbitMQ 4.1.x"). One source for both architectures
#   means one Erlang build per release in the version matrix.
# - rabbitmq-server from Team RabbitMQ's repository (deb1/deb2.rabbitmq.com/rabbitmq-server): the package is
#   architecture-independent (Architecture: all).
# Ubuntu 24.04's own Erlang (25.3) is too old for RabbitMQ 4 and its rabbitmq-server is 3.12 (no native AMQP 1.0):
# /etc/apt/preferences.d/rabbitmq pins Erlang 27 and the requested RabbitMQ series at 1001 and gives Ubuntu's
# packages -1, so apt can never fall back to them, and the installed versions are checked afterwards.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh
# shellcheck source=../lib/awscli.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/awscli.sh" # capi:inline lib/awscli.sh

require_root
RABBITMQ_VERSION="$(param RabbitmqVersion '^4\.[0-9]{1,3}(\.[0-9]{1,3})?$')"
NODE_EXPORTER_VERSION="$(param NodeExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
# The Erlang series: the newest RabbitMQ 4.1 supports (which-erlang.md). Team RabbitMQ's Erlang packages carry the
# epoch 1:, which apt pins must include.
ERLANG_SERIES=27
TEAM_KEYRING=/usr/share/keyrings/com.rabbitmq.team.gpg
TEAM_KEY_URL=https://keys.openpgp.org/vks/v1/by-fingerprint/0A9AF2115F4687BD29803A206B73A36E6026DFCA
TEAM_KEY_FINGERPRINT=0A9AF2115F4687BD29803A206B73A36E6026DFCA
PPA_KEYRING=/usr/share/keyrings/net.launchpad.ppa.rabbitmq.erlang.gpg
# The PPA's signing key as install-debian.md gives it: by its 64-bit key id on the Ubuntu keyserver.
PPA_KEY_URL='https://keyserver.ubuntu.com/pks/lookup?op=get&search=0xF77F1EDA57EBB1CC'
PPA_KEY_ID=F77F1EDA57EBB1CC
ERLANG_PACKAGES=(erlang-base erlang-asn1 erlang-crypto erlang-eldap erlang-ftp erlang-inets erlang-mnesia
  erlang-os-mon erlang-parsetools erlang-public-key erlang-runtime-tools erlang-snmp erlang-ssl erlang-syntax-tools
  erlang-tftp erlang-tools erlang-xmerl)

# rabbitmq_pin: the apt version glob of the requested release (4.1 -> 4.1.*, 4.1.2 -> 4.1.2-*).
rabbitmq_pin() {
  if [[ "$RABBITMQ_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    printf '%s-*' "$RABBITMQ_VERSION"
  else
    printf '%s.*' "$RABBITMQ_VERSION"
  fi
}

# rabbitmq_regex: the same as an extended regular expression, for the check after install.
rabbitmq_regex() {
  if [[ "$RABBITMQ_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    printf '^%s-' "${RABBITMQ_VERSION//./\\.}"
  else
    printf '^%s\\.' "${RABBITMQ_VERSION//./\\.}"
  fi
}

add_repositories() {
  local codename arch mirror
  codename="$(os_codename)"
  arch="$(node_arch)"
  apt_key "$TEAM_KEY_URL" "$TEAM_KEY_FINGERPRINT" "$TEAM_KEYRING"
  apt_key "$PPA_KEY_URL" "$PPA_KEY_ID" "$PPA_KEYRING"
  {
    printf '# Written by capideploy (capi-rabbitmq-install).\n'
    printf '# Erlang %s: Team RabbitMQ'\''s Launchpad PPA (amd64 and arm64 builds).\n' "$ERLANG_SERIES"
    printf 'deb [arch=%s signed-by=%s] https://ppa.launchpadcontent.net/rabbitmq/rabbitmq-erlang-%s/ubuntu %s main\n' \
      "$arch" "$PPA_KEYRING" "$ERLANG_SERIES" "$codename"
    printf '# RabbitMQ: Team RabbitMQ'\''s repository (architecture-independent packages), two mirrors.\n'
    for mirror in deb1 deb2; do
      printf 'deb [signed-by=%s] https://%s.rabbitmq.com/rabbitmq-server/ubuntu/%s %s main\n' \
        "$TEAM_KEYRING" "$mirror" "$codename" "$codename"
    done
  } | apt_source rabbitmq
  # For each package version apt uses the first stanza that matches it: the pinned series at 1001 (installed, even
  # as a downgrade), and Ubuntu's own builds at -1 (never installed).
  apt_preferences rabbitmq <<EOF
# Written by capideploy (capi-rabbitmq-install): Erlang ${ERLANG_SERIES} and RabbitMQ ${RABBITMQ_VERSION} only.
Package: erlang*
Pin: version 1:${ERLANG_SERIES}.*
Pin-Priority: 1001

Package: erlang*
Pin: release o=Ubuntu
Pin-Priority: -1

Package: rabbitmq-server
Pin: version $(rabbitmq_pin)
Pin-Priority: 1001

Package: rabbitmq-server
Pin: release o=Ubuntu
Pin-Priority: -1
EOF
}

apt_install ca-certificates curl gnupg
add_repositories
apt_install_pinned "^1:${ERLANG_SERIES}\\." "${ERLANG_PACKAGES[@]}"
apt_install_pinned "$(rabbitmq_regex)" rabbitmq-server
# Fail closed: whatever apt did, these are the versions the broker runs on.
require_version erlang-base "^1:${ERLANG_SERIES}\\." "Erlang ${ERLANG_SERIES} from ppa:rabbitmq/rabbitmq-erlang-${ERLANG_SERIES}"
require_version rabbitmq-server "$(rabbitmq_regex)" "RabbitMQ ${RABBITMQ_VERSION} from deb1/deb2.rabbitmq.com"
install_node_exporter "$NODE_EXPORTER_VERSION"
ensure_awscli
log "rabbitmq install done"
