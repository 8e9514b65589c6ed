#!/usr/bin/env bash
# scripts/services.sh: make sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis
# (127.0.0.1:6379) are running, for the cluster tests and for trying a cluster locally.
# Installs them from Debian's packages when they are missing, starts them when they are
# stopped, and waits (at most 30 s each) until they answer. Safe to run again: a running
# service is left alone.
set -euo pipefail

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # name, command: polls for up to 30 s
  local name=$1; shift
  for _ in $(seq 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "services.sh: $name did not come up" >&2
  return 1
}

# ---- PostgreSQL ---------------------------------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
fi
# The tests use database `test` with trust auth on 127.0.0.1, as the CI machines have it.
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  su postgres -c "psql -c 'create database test'" >/dev/null 2>&1 || true
  hba=$(su postgres -c "psql -tAc 'show hba_file'")
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    su postgres -c "psql -c 'select pg_reload_conf()'" >/dev/null
  fi
  wait_for 'PostgreSQL database test' psql -h 127.0.0.1 -U postgres -d test -c 'select 1'
fi

# ---- Redis --------------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi
echo "services.sh: PostgreSQL and Redis are up"
