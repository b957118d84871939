#!/usr/bin/env bash
# A small stand-in for systemd where none runs as PID 1 (a chroot, a container): rpi-deploy.sh's
# --no-systemd mode starts the release's edge.service through this instead of systemctl. It reads the
# unit itself, so what runs is the unit's ExecStart with its User=, Group=, SupplementaryGroups=,
# WorkingDirectory=, Environment=, StateDirectory= and NoNewPrivileges=, restarted like
# Restart=on-failure with RestartSec= and given up after StartLimitBurst= starts in
# StartLimitIntervalSec= (state "failed"). Not emulated: the rest of the sandboxing (ProtectSystem=,
# PrivateTmp=, ...) and sd_notify (the state is "active" once the process runs, not at READY=1).
#
# Usage: supervise.sh UNIT STATE_DIR >>LOG     (runs in the foreground; TERM stops edge, then exits;
#        edge's output and the supervisor's notes go to stdout and stderr)
#   STATE_DIR/state: activating | active | failed | inactive; supervisor.pid, main.pid
set -euo pipefail
unit=$1 run=$2

val() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
read -r -a cmd <<<"$(val ExecStart)"
user=$(val User)
group=$(val Group)
groups=$(val SupplementaryGroups)
workdir=$(val WorkingDirectory)
restart_sec=$(val RestartSec)
stop_timeout=$(val TimeoutStopSec)
burst=$(val StartLimitBurst)
interval=$(val StartLimitIntervalSec)
state_dir=/var/lib/$(val StateDirectory)
restart_sec=${restart_sec%s}
stop_timeout=${stop_timeout%s}
interval=${interval%s}

mkdir -p "$run" "$state_dir"
chown "$user:$group" "$state_dir"
chmod 0750 "$state_dir"
env_vars=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
  HOME="$state_dir" STATE_DIRECTORY="$state_dir" USER="$user" LOGNAME="$user")
while IFS= read -r line; do
  [[ -n "$line" ]] && env_vars+=("$line")
done < <(sed -n 's/^Environment=//p' "$unit")
priv=(setpriv --reuid="$user" --regid="$group" --clear-groups)
[[ -n "$groups" ]] && priv=(setpriv --reuid="$user" --regid="$group" --groups="${groups// /,}")
[[ "$(val NoNewPrivileges)" == yes ]] && priv+=(--no-new-privs)

note() { printf 'supervise.sh: %s\n' "$*"; }
set_state() { echo "$1" >"$run/state.tmp" && mv -f "$run/state.tmp" "$run/state"; }

echo $$ >"$run/supervisor.pid"
child=""
stop() {
  if [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; then
    local i
    for ((i = 0; i < ${stop_timeout:-30} * 2; i++)); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$child" 2>/dev/null || true
  fi
  rm -f "$run/main.pid" "$run/supervisor.pid"
  set_state inactive
  note "stopped"
  exit 0
}
trap stop TERM INT

starts=()
while :; do
  now=$(date +%s)
  recent=()
  for t in "${starts[@]}"; do
    ((now - t < ${interval:-10})) && recent+=("$t")
  done
  starts=("${recent[@]}")
  if ((${#starts[@]} >= ${burst:-5})); then
    note "start limit hit (${burst:-5} starts in ${interval:-10} s): giving up, state failed"
    rm -f "$run/main.pid" "$run/supervisor.pid"
    set_state failed
    exit 1
  fi
  starts+=("$now")
  note "starting: ${cmd[*]}"
  (cd "$workdir" && exec env -i "${env_vars[@]}" "${priv[@]}" -- "${cmd[@]}") </dev/null &
  child=$!
  echo "$child" >"$run/main.pid"
  set_state active
  rc=0
  wait "$child" || rc=$?
  child=""
  rm -f "$run/main.pid"
  if ((rc == 0)); then
    note "edge exited cleanly: not restarted (Restart=on-failure)"
    rm -f "$run/supervisor.pid"
    set_state inactive
    exit 0
  fi
  note "edge exited with status $rc: restarting in ${restart_sec:-5} s (Restart=on-failure)"
  set_state activating
  sleep "${restart_sec:-5}" &
  wait $! || true
done
