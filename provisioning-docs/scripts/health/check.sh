#!/usr/bin/env bash
# capi-health-check: one check per run, chosen by the Check parameter. Its standard output is a contract
# (functions/health-check parses it and the simulator produces the same text), so only these lines go to stdout:
#   cassandra   the raw `nodetool status` output
#   rabbitmq    `amqp10-listener ok|missing` and `queue capidaemon present|missing`
#   webapi      `webapi http <status>`
#   ui          `ui http <status>`
#   prometheus  `target <ip:port> up|down`, one line per scraped target
# The exit code is non-zero when the check fails. Diagnostics go to stderr.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" # capi:inline lib/common.sh

CHECK="$(param Check '^(cassandra|rabbitmq|webapi|ui|prometheus)$')"
EXPECTED_NODES="$(param ExpectedNodes '^(0|[1-9][0-9]{0,3})$')"
EXPECTED_TARGETS="$(param ExpectedTargets '^(0|[1-9][0-9]{0,4})$')"

check_cassandra() {
  local out status=0 up
  out="$(nodetool status 2>&1)" || status=$?
  printf '%s\n' "$out"
  ((status == 0)) || return 1
  up="$(awk '$1 == "UN" { n++ } END { print n + 0 }' <<<"$out")"
  if ((up < EXPECTED_NODES)); then
    printf '%s of %s Cassandra nodes are UN\n' "$up" "$EXPECTED_NODES" >&2
    return 1
  fi
}

check_rabbitmq() {
  local ok=0 version
  # RabbitMQ 4 serves AMQP 1.0 natively on the AMQP listener (5672); 3.x would need a plugin.
  version="$(rabbitmqctl -s version 2>/dev/null || true)"
  if [[ "${version%%.*}" =~ ^[0-9]+$ ]] && ((${version%%.*} >= 4)) &&
    rabbitmq-diagnostics -q listeners 2>/dev/null | awk '/port: 5672, protocol: amqp[,]/ { found = 1 } END { exit !found }'; then
    printf 'amqp10-listener ok\n'
  else
    printf 'amqp10-listener missing\n'
    ok=1
  fi
  if rabbitmqctl -s list_queues name 2>/dev/null | awk '$1 == "capidaemon" { found = 1 } END { exit !found }'; then
    printf 'queue capidaemon present\n'
  else
    printf 'queue capidaemon missing\n'
    ok=1
  fi
  return "$ok"
}

# http_status URL: the HTTP status of URL (000 when nothing answers), retried for a minute while it is not 200,
# because a service just (re)started by configure may take a few seconds to listen.
http_status() {
  local status attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do
    status="$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 10 "$1" || true)"
    [[ "$status" == 200 ]] && break
    printf 'attempt %s: %s answered %s\n' "$attempt" "$1" "${status:-000}" >&2
    sleep 5
  done
  printf '%s' "${status:-000}"
}

check_http() {
  local status
  status="$(http_status "$2")"
  printf '%s http %s\n' "$1" "$status"
  [[ "$status" == 200 ]]
}

# prometheus_targets: `target <instance> up|down` for every scraped target except Prometheus itself.
prometheus_targets() {
  promtool query instant http://127.0.0.1:9090 'up{job!="prometheus"}' 2>/dev/null |
    grep -v 'job="prometheus"' |
    sed -n -E 's/.*instance="([^"]+)".*=> ([0-9.]+).*/\1 \2/p' |
    awk '{ printf "target %s %s\n", $1, ($2 == "1" ? "up" : "down") }' | sort
}

check_prometheus() {
  local out='' attempt up down
  # Targets appear after their first scrape, a few seconds after Prometheus (re)loads its configuration.
  for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do
    out="$(prometheus_targets || true)"
    up="$(grep -c ' up$' <<<"$out" || true)"
    down="$(grep -c ' down$' <<<"$out" || true)"
    if ((down == 0 && up > 0 && up >= EXPECTED_TARGETS)); then
      break
    fi
    printf 'attempt %s: %s targets up, %s down, %s expected\n' "$attempt" "$up" "$down" "$EXPECTED_TARGETS" >&2
    sleep 5
  done
  if [[ -n "$out" ]]; then
    printf '%s\n' "$out"
  fi
  ((down == 0 && up > 0 && up >= EXPECTED_TARGETS))
}

case "$CHECK" in
cassandra) check_cassandra ;;
rabbitmq) check_rabbitmq ;;
webapi) check_http webapi http://127.0.0.1:6543/ks ;;
ui) check_http ui http://127.0.0.1/ ;;
prometheus) check_prometheus ;;
esac
