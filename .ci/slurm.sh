#!/usr/bin/env bash
# Start a one-node SLURM cluster with real accounting (Debian's slurm-wlm, munge, slurmdbd
# on MariaDB), the way `.ci/postgres.sh` starts PostgreSQL. Idempotent; run as root (CI)
# before `nox -s scale_out`:
#   bash .ci/slurm.sh   # then `sinfo` shows the partition "ci" with this machine, idle
# No systemd here: each daemon is started by hand and waited for. The settings that make a
# requeued job start again in seconds (cred_expire, the scheduler's intervals) are test
# settings, not a production cluster's.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(slurm-wlm slurmdbd munge mariadb-server)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail saying WHAT
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq "$seconds"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    echo "slurm.sh: $what did not come up in $seconds s" >&2
    tail -20 /var/log/slurm/*.log 2>/dev/null >&2 || true
    return 1
}

host=$(hostname -s)
install -d -o slurm -g slurm /run/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm

# munge: the key the package made, the daemon as its own user
[ -s /etc/munge/munge.key ] || mungekey --create
install -d -o munge -g munge -m 0755 /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
wait_for 10 munge bash -c 'munge -n | unmunge'

# MariaDB for slurmdbd's accounting (sacct: submitit reads job states from it)
if ! mysqladmin ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld
    (mysqld_safe >/dev/null 2>&1 &)
    wait_for 60 MariaDB mysqladmin ping
fi
mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
          GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
PidFile=/run/slurm/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
EOF
chown slurm:slurm /etc/slurm/slurmdbd.conf
chmod 600 /etc/slurm/slurmdbd.conf

# The node as slurmd sees it (CPUs, sockets, cores, memory), less 2 GiB of memory for the rest.
node=$(slurmd -C | head -1)
memory=$(sed -nE 's/.*RealMemory=([0-9]+).*/\1/p' <<<"$node")
node=${node/RealMemory=$memory/RealMemory=$((memory - 2048))}
cat > /etc/slurm/slurm.conf <<EOF
ClusterName=ci
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
# a requeued job waits cred_expire + 1 s before it starts again (default 120 s)
AuthInfo=cred_expire=10
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups needed: processes tracked by their parents, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
JobRequeue=1
KillWait=30
ReturnToService=2
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
$node State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
# slurmd starts its cgroup plugin even when nothing uses it; on cgroup v1 say which
if [ -d /sys/fs/cgroup/cpu ]; then echo "CgroupPlugin=cgroup/v1" > /etc/slurm/cgroup.conf; fi

pgrep -x slurmdbd >/dev/null || slurmdbd
wait_for 60 slurmdbd sacctmgr -n show cluster
sacctmgr -n -P show cluster format=cluster | grep -qx ci || sacctmgr -i add cluster ci >/dev/null
pgrep -x slurmctld >/dev/null || slurmctld
wait_for 60 slurmctld bash -c 'scontrol ping | grep -q UP'
pgrep -x slurmd >/dev/null || slurmd
wait_for 60 slurmd bash -c 'sinfo -h -o %T | grep -qx idle'
sinfo
