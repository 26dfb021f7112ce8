#!/usr/bin/env bash
# Starts the loopback services the integration tests use, when they are
# installed but not running. Tests that need a service that is still absent
# skip with a message saying so.
set -u

up() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_for() { # name port
  for _ in $(seq 1 60); do up "$2" && { echo "services: $1 is up on 127.0.0.1:$2"; return 0; }; sleep 0.5; done
  echo "services: $1 did not come up on 127.0.0.1:$2; its tests will skip" >&2
}

start() { # name port command...
  local name=$1 port=$2; shift 2
  if up "$port"; then echo "services: $name is up on 127.0.0.1:$port"; return; fi
  if ! command -v "$1" >/dev/null 2>&1; then echo "services: $name is not installed; its tests will skip" >&2; return; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_for "$name" "$port"
}

start postgresql 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
start redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
start mariadb 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
