#!/usr/bin/env bash
# capi-bastion-install: mounts the log volume, installs nginx, node_exporter, the Capillaries webapi binary, the UI
# static files and the AWS CLI. Configuration (secrets, nginx sites, the webapi unit) is capi-bastion-configure's.
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
LOG_VOLUME_ID="$(param LogVolumeId '^vol-([0-9a-f]{8}|[0-9a-f]{17})$')"
UI_DIR="${CAPI_ROOT}/var/www/capillaries-ui"
LOG_MOUNT=/mnt/capi_log

install_ui() {
  # Extract into a scratch directory and swap it in only when the files differ, so a re-run changes nothing.
  local staged="$CAPI_TMP/ui"
  download "$RELEASE_URL/webui/webui.tgz" "$CAPI_TMP/webui.tgz"
  mkdir -p "$staged"
  tar -xzf "$CAPI_TMP/webui.tgz" -C "$staged" --no-same-owner
  find "$staged" -type d -exec chmod 0755 {} +
  find "$staged" -type f -exec chmod 0644 {} +
  if ! diff -rq "$staged" "$UI_DIR" >/dev/null 2>&1; then
    rm -rf "$UI_DIR"
    mkdir -p "$(dirname "$UI_DIR")"
    mv "$staged" "$UI_DIR"
    chmod 0755 "$UI_DIR"
    log "installed the UI in ${UI_DIR#"$CAPI_ROOT"}"
  fi
}

ensure_system_user capillaries
mount_log_volume "$LOG_VOLUME_ID" "$LOG_MOUNT"
apt_install ca-certificates curl nginx
# The package enables a default site on :80, which is the UI's port.
rm -f "${CAPI_ROOT}/etc/nginx/sites-enabled/default"
install_node_exporter "$NODE_EXPORTER_VERSION"
install_capi_binary "$RELEASE_URL" capiwebapi
install_ui
ensure_awscli
log "bastion install done"
