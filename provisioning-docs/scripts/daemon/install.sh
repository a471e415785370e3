#!/usr/bin/env bash
# capi-daemon-install: the Capillaries daemon binary and its JSON config from the release URL, Python 3 with the
# modules py_calc formulas use, node_exporter and the AWS CLI. The unit and CAPI_* settings are configure's.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh
# shellcheck source=../lib/awscli.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/awscli.sh" # capi:inline lib/awscli.sh

require_root
LABEL='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
NODE_EXPORTER_VERSION="$(param NodeExporterVersion '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$')"
RELEASE_URL="$(param CapillariesReleaseUrl "^https://${LABEL}(\\.${LABEL})*(:[1-9][0-9]{0,4})?(/[A-Za-z0-9._~%+-]{1,128}){0,16}$")"

ensure_system_user capillaries
apt_install ca-certificates curl python3 python3-dateutil
install_capi_binary "$RELEASE_URL" capidaemon
install_node_exporter "$NODE_EXPORTER_VERSION"
ensure_awscli
log "daemon install done"
