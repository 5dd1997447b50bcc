#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`; installs and starts dockerd when needed.
# Idempotent. Tries plain `dockerd` first and adds sandbox flags only when a start fails:
#   overlay storage fails      -> --storage-driver=vfs
#   iptables/bridge setup fails -> --iptables=false (--ip-masq=false)
# Environment: DOCKERD_LOG (default /var/log/dockerd.log), DOCKERD_TIMEOUT seconds (default 60),
# DOCKERD_ARGS extra flags always passed (e.g. -H/--data-root for a second daemon).
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
TIMEOUT=${DOCKERD_TIMEOUT:-60}
EXTRA=${DOCKERD_ARGS:-}

if docker info >/dev/null 2>&1; then
  echo "docker: engine is running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "error: Docker is not installed. As root run: apt-get install -y docker.io" >&2
  else
    echo "error: 'docker info' fails. As root run: $0 (or add $(id -un) to the docker group)" >&2
  fi
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "docker: installing docker.io"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi

# A dockerd that crashed leaves its pid file behind, which blocks the next start.
for pidfile in /var/run/docker.pid /run/docker.pid; do
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    rm -f "$pidfile"
  fi
done

mkdir -p "$(dirname "$LOG")"
touch "$LOG"

# start_dockerd FLAGS...: start in the background, wait until `docker info` answers.
# Returns 0 when ready, 1 when dockerd died or did not answer within $TIMEOUT seconds.
start_dockerd() {
  local mark pid
  mark=$(wc -l <"$LOG" 2>/dev/null || echo 0)
  echo "==> $(date -Is) dockerd $EXTRA $*" >>"$LOG"
  # shellcheck disable=SC2086 # EXTRA holds several flags on purpose
  nohup dockerd $EXTRA "$@" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq $((TIMEOUT * 5))); do
    if docker info >/dev/null 2>&1; then
      echo "docker: dockerd started (pid $pid, flags: ${*:-none}, log $LOG)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "docker: dockerd ${*:-(no flags)} exited; last log lines:" >&2
      tail -n +"$((mark + 1))" "$LOG" | tail -5 >&2
      return 1
    fi
    sleep 0.2
  done
  echo "docker: dockerd ${*:-(no flags)} did not answer within ${TIMEOUT}s; stopping it" >&2
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

start_dockerd && exit 0
flags=()
if tail -n 50 "$LOG" | grep -qiE 'overlay|storage-driver|graphdriver'; then
  flags+=(--storage-driver=vfs)
fi
if tail -n 50 "$LOG" | grep -qiE 'iptables|bridge|nat'; then
  flags+=(--iptables=false --ip-masq=false)
fi
if [ ${#flags[@]} -gt 0 ]; then
  start_dockerd "${flags[@]}" && exit 0
fi
start_dockerd --storage-driver=vfs --iptables=false --ip-masq=false && exit 0
echo "error: could not start dockerd; see $LOG" >&2
exit 1
