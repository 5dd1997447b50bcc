#!/usr/bin/env bash
# `make demo`: install what is missing, start a simulated fleet of three DevServers and run
# web + worker + beat at http://127.0.0.1:8000. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
say() { printf '==> %s\n' "$*"; }

redis_answers() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ $reply == +PONG* ]]) 2>/dev/null; }

port=${WEB_PORT:-8000}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "error: something already listens on 127.0.0.1:$port (another make demo?)." >&2
  echo "Stop it first, or run on another port: WEB_PORT=8001 make demo" >&2
  exit 1
fi

# 1. System packages.
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
redis_answers || command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "error: these system packages are missing: ${missing[*]}" >&2
    echo "Install them as root, then run make demo again (as root, since the simulated" >&2
    echo "DevServers are sshd daemons on loopback):" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
  else
    echo "error: the simulated fleet runs one sshd per DevServer, which needs root." >&2
    echo "Run: sudo make demo" >&2
  fi
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Python and front-end packages.
bash scripts/bootstrap.sh

# 3. Services: Redis, sshd, the Docker engine.
if ! redis_answers; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/demo.log
  for _ in $(seq 20); do redis_answers && break; sleep 0.5; done
fi
bash scripts/ensure-sshd.sh >/dev/null
bash scripts/ensure-docker.sh

# 4. Settings: a .env with fresh keys on the first run.
if [ ! -f .env ]; then
  say "writing .env with new keys"
  .venv/bin/python - <<'PY'
import secrets
from cryptography.fernet import Fernet
open(".env", "w").write(
    "DEBUG=1\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FLEET_CREDENTIALS_KEY={Fernet.generate_key().decode()}\n"
)
PY
  chmod 600 .env
fi
# The demo runs in development mode (plain HTTP on 127.0.0.1); DEBUG is off unless set.
if ! grep -q '^DEBUG=' .env; then
  say "turning DEBUG on in .env for the demo"
  printf 'DEBUG=1\n' >> .env
fi
# "Serve a model" uses the simulated fleet's stand-in vLLM image for every team.
if ! grep -q '^JOBS_SERVE_IMAGE=' .env; then
  printf 'JOBS_SERVE_IMAGE=npufleet/vllm-sim:local\n' >> .env
fi

# 5. Database, simulated fleet, accounts.
say "migrating the database"
.venv/bin/python manage.py migrate --noinput >/dev/null
say "starting the simulated fleet"
.venv/bin/python -m devsim demo
trap 'say "stopping the simulated fleet"; .venv/bin/python -m devsim down >/dev/null 2>&1 || true' EXIT
.venv/bin/python -m devsim setup-demo

# 6. Web, worker and beat under one process manager.
say "dashboard at http://127.0.0.1:$port  (Ctrl-C stops everything)"
.venv/bin/honcho start -f Procfile
