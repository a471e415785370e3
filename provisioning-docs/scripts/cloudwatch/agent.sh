#!/usr/bin/env bash
# capi-cloudwatch-agent: installs the Amazon CloudWatch agent (the .deb of the node's architecture, arm64 or amd64)
# and configures it to ship this node's logs into the deployment's log group, one stream per node and source
# (`<node>/<source>`, src/core/cluster-logs.ts). The workflow creates the group with its retention and KMS key; the
# instance role may only write streams into it, so the configuration sets no retention and creates no group.
# The node's name (the first part of its stream names) is not a parameter, so one command serves every node of a
# role: it is the instance's Name tag `<deployment>-<node>`, read through IMDSv2 instance-metadata tags, which the
# instances are launched with (MetadataOptions InstanceMetadataTags=enabled, functions/instances/instances.ts).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

require_root
LOG_GROUP="$(param LogGroupName '^/capideploy/[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$')"
DEPLOYMENT="${LOG_GROUP#/capideploy/}"
# source=path pairs, comma-separated: the sources of this node's role.
LOG_FILES="$(param LogFiles '^[a-z0-9-]+=[A-Za-z0-9_./*@-]+(,[a-z0-9-]+=[A-Za-z0-9_./*@-]+)*$')"

# node_name: this node's short name (cass001, bastion), from its Name tag `<deployment>-<node>`.
node_name() {
  local tag node
  tag="$(imds meta-data/tags/instance/Name)" ||
    die "cannot read the Name tag from the instance metadata (meta-data/tags/instance/Name): instance metadata tags must be enabled on this instance (MetadataOptions InstanceMetadataTags=enabled)"
  [[ "$tag" == "${DEPLOYMENT}-"* ]] ||
    die "the Name tag '${tag}' is not ${DEPLOYMENT}-<node>: this instance is not a node of deployment ${DEPLOYMENT}"
  node="${tag#"${DEPLOYMENT}-"}"
  [[ "$node" =~ ^[a-z0-9-]{1,40}$ ]] || die "the node name '${node}' of the Name tag '${tag}' is malformed"
  printf '%s' "$node"
}
NODE="$(node_name)"

AGENT_DIR=/opt/aws/amazon-cloudwatch-agent
CONFIG="${CAPI_ROOT}${AGENT_DIR}/etc/capideploy.json"

install_agent() {
  local arch
  arch="$(node_arch)"
  if dpkg_installed amazon-cloudwatch-agent; then
    return 0
  fi
  download "https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/${arch}/latest/amazon-cloudwatch-agent.deb" \
    "$CAPI_TMP/amazon-cloudwatch-agent.deb"
  wait_apt_lock
  dpkg -i -E "$CAPI_TMP/amazon-cloudwatch-agent.deb"
  mark_changed cloudwatch-agent
}

# The agent's configuration: one collect_list entry per source of this node.
agent_config() {
  local entries="" pair source path
  IFS=',' read -r -a pairs <<<"$LOG_FILES"
  for pair in "${pairs[@]}"; do
    source="${pair%%=*}"
    path="${pair#*=}"
    entries+="${entries:+,}
        {\"file_path\": \"${path}\", \"log_group_name\": \"${LOG_GROUP}\", \"log_stream_name\": \"${NODE}/${source}\", \"timezone\": \"UTC\"}"
  done
  cat <<JSON
{
  "agent": { "run_as_user": "root", "logfile": "${AGENT_DIR}/logs/amazon-cloudwatch-agent.log" },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [${entries}
        ]
      }
    },
    "force_flush_interval": 5
  }
}
JSON
}

install_agent
agent_config | write_file "$CONFIG" 0644 cloudwatch-config
if changed cloudwatch-agent || changed cloudwatch-config || ! systemctl is-active --quiet amazon-cloudwatch-agent; then
  "${CAPI_ROOT}${AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl" -a fetch-config -m ec2 -s -c "file:${CONFIG#"$CAPI_ROOT"}"
fi
log "cloudwatch agent ships ${LOG_FILES//,/ } to ${LOG_GROUP} as ${NODE}/<source>"
