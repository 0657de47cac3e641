#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1:5432 and a role the scale-out tests may create
# databases with. Idempotent; run as root (CI) before `nox -s scale_out`:
#   bash .ci/postgres.sh   # then MNIST_REG_POSTGRES is postgresql://mnist_reg:mnist_reg@127.0.0.1:5432/postgres
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_lsclusters >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
if [ -z "$version" ]; then  # the package is there but its cluster was dropped
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_createcluster "$version" main
fi
pg_ctlcluster "$version" main start 2>/dev/null || true  # already running is fine
for _ in $(seq 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mnist_reg') THEN
        CREATE ROLE mnist_reg LOGIN CREATEDB PASSWORD 'mnist_reg';
    END IF;
END
$$;
SQL
