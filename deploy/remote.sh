#!/usr/bin/env bash
# The Pi's half of rpi-deploy.sh. rpi-deploy.sh pipes this file to `bash -s -- ACTION ARGS...` over ssh
# (under `sudo -n` except for preflight), so nothing has to be installed on the Pi beforehand.
#
#   preflight GROUPS NEED_MB GLIBC_MIN CPU_FEATURES   read-only checks; every problem says what to do
#   glibc MIN                                          read-only: the Pi's glibc is at least MIN
#   prepare                                            the `edge` system user, /opt/edge/releases
#   verify VERSION                                     sha256sum -c the release, fix owners and modes
#   selftest VERSION                                   `edge selftest` of that release as the edge user
#   current                                            read-only: the current release's VERSION, then its SHA256SUMS
#   adopt VERSION                                      model-only: link the binary of the current release into VERSION
#   selftest VERSION [require-model-check]             also `edge model-check` of the release's model and config
#   activate VERSION KEEP TIMEOUT PATTERN              switch, restart (a model-only release: reload), health check,
#                                                      roll back on failure
#   rollback TIMEOUT PATTERN                           back to the previous release (a manual --rollback)
#   summary                                            read-only: one line, version/model sha/state (fleet table)
#   status | uninstall
#
# Layout on the Pi:
#   /opt/edge/releases/<version>/   edge, model.edge, config.json, edge.service, supervise.sh, VERSION,
#                                   SHA256SUMS, files/ (what the config refers to)
#   /opt/edge/current, previous     symlinks to releases; switched with ln -sfn + mv -T (rename(2))
#   /opt/edge/history               versions in the order they were activated (pruning keeps the newest)
#   /etc/systemd/system/edge.service   a copy of the current release's edge.service
#   /var/lib/edge                   the service's StateDirectory (kept by uninstall)
#
# EDGE_NO_SYSTEMD=1: the Pi has no running systemd (a chroot, a container): the unit's ExecStart runs
# under the release's supervise.sh instead (Restart=on-failure emulated, log in /var/log/edge/edge.log).
set -euo pipefail

readonly base=/opt/edge
readonly releases=$base/releases
readonly unit_path=/etc/systemd/system/edge.service
readonly no_systemd=${EDGE_NO_SYSTEMD:-0}
readonly sup_dir=/run/edge-supervise
readonly sup_log=/var/log/edge/edge.log

say() { printf '  [pi] %s\n' "$*"; }
die() { printf '  [pi] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- preflight (unprivileged, read-only)
glibc_check() { # min: prints what it found; non-zero when the Pi's glibc is older than min
  local glibc
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
  if [[ -z "$glibc" ]]; then
    echo "cannot tell the glibc version (getconf GNU_LIBC_VERSION): Edge needs glibc >= $1 (musl-based systems cannot run it)"
    return 1
  elif [[ $(printf '%s\n%s\n' "$1" "$glibc" | sort -V | head -n 1) == "$1" ]]; then
    echo "ok: glibc $glibc (the binary needs >= $1)"
  else
    echo "glibc $glibc is older than the $1 the binary needs: upgrade the Pi to Raspberry Pi OS bookworm (Debian 12) or newer, or build on a machine whose arm64 sysroot (libc6-dev-arm64-cross) is not newer than the Pi's"
    return 1
  fi
}

preflight() {
  local groups=$1 need_mb=$2 glibc_min=$3 features=$4 want_arch=${5:-aarch64} problems=0 g
  problem() { printf '  [pi] problem: %s\n' "$*" >&2; problems=$((problems + 1)); }

  local arch
  arch=$(uname -m)
  if [[ "$arch" == "$want_arch" ]]; then
    say "ok: architecture $arch"
  elif [[ "$want_arch" == x86_64 ]]; then
    problem "the machine is $arch, --target x64 deploys linux-x64 (x86_64): use --target arm64 (or pi3, pi4, pi5) for an ARM board"
  else
    problem "the machine is $arch, Edge deploys linux-arm64 (aarch64): install the 64-bit Raspberry Pi OS (armv7l means the 32-bit image)"
  fi

  if [[ $(id -u) == 0 ]]; then
    say "ok: logged in as root"
  elif sudo -n true 2>/dev/null; then
    say "ok: passwordless sudo for $(id -un)"
  else
    problem "$(id -un) cannot sudo without a password: run 'echo \"$(id -un) ALL=(ALL) NOPASSWD:ALL\" | sudo tee /etc/sudoers.d/010_$(id -un)-nopasswd' on the Pi (Raspberry Pi OS's default user already has it), or deploy as root"
  fi

  local avail_mb probe=$base
  while [[ ! -d "$probe" ]]; do probe=$(dirname "$probe"); done
  avail_mb=$(df -Pm "$probe" | awk 'NR == 2 { print $4 }')
  if ((avail_mb >= need_mb)); then
    say "ok: ${avail_mb} MB free on $probe (need $need_mb)"
  else
    problem "only ${avail_mb} MB free on $probe, the release needs $need_mb MB: free space (sudo apt-get clean; sudo journalctl --vacuum-size=50M) or remove old releases (fewer --keep)"
  fi

  local msg
  if [[ -n "$glibc_min" ]]; then
    if msg=$(glibc_check "$glibc_min"); then say "$msg"; else problem "$msg"; fi
  fi

  for g in ${groups//,/ }; do
    if getent group "$g" >/dev/null; then
      say "ok: group $g exists"
    else
      problem "group '$g' (needed by the config's sources) does not exist: on Raspberry Pi OS enable the interface (sudo raspi-config nonint do_${g/dialout/serial_hw} 0) or create it (sudo groupadd --system $g) with a udev rule giving it the device"
    fi
  done

  local have
  # ARM lists them as Features, x86 as flags.
  have=$(sed -n '0,/^\(Features\|flags\)[[:space:]]*:/s/^\(Features\|flags\)[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null || true)
  for g in ${features//,/ }; do
    if [[ -z "$have" ]]; then
      say "note: /proc/cpuinfo lists no CPU features (an emulator?); cannot check for $g, edge selftest will"
    elif [[ " $have " == *" $g "* ]]; then
      say "ok: CPU has $g"
    else
      problem "the CPU lacks '$g' that this --target's build uses: pick the target of this board (pi3|pi4 for Cortex-A53/A72, pi5 for Cortex-A76) or --target arm64; on x86_64 --target x64 (it picks the build) or x64-v3"
    fi
  done
  if [[ -r /proc/device-tree/model ]]; then
    say "board: $(tr -d '\0' </proc/device-tree/model)"
  fi

  if command -v rsync >/dev/null; then
    say "ok: rsync"
  else
    problem "rsync is not installed on the Pi: sudo apt-get install -y rsync"
  fi
  if command -v sha256sum >/dev/null && command -v flock >/dev/null && command -v setpriv >/dev/null; then
    say "ok: coreutils and util-linux"
  else
    problem "sha256sum, flock or setpriv missing: sudo apt-get install -y coreutils util-linux"
  fi

  if [[ "$no_systemd" == 1 ]]; then
    say "note: --no-systemd: the service runs under supervise.sh, not systemd"
  elif [[ -d /run/systemd/system ]]; then
    say "ok: systemd is running"
  else
    problem "systemd is not running here (PID 1 is $(tr -d '\0' </proc/1/comm 2>/dev/null || echo unknown)): boot the Pi normally, or pass --no-systemd to run the service under the script's simple supervisor"
  fi

  if ((problems)); then
    die "$problems preflight problem(s); nothing was changed"
  fi
}

# ---------------------------------------------------------------- helpers (root from here on)
lock() {
  mkdir -p "$base"
  exec 9>"$base/.deploy.lock"
  flock -w 30 9 || die "another deploy holds $base/.deploy.lock (waited 30 s)"
}

release_of() { # the version a symlink under /opt/edge points at, or nothing
  local link=$base/$1
  [[ -L "$link" ]] && basename "$(readlink "$link")"
  return 0
}

switch_link() { # name version: atomic replace of /opt/edge/<name> (rename(2) over the old link)
  ln -sfn "$releases/$2" "$base/.$1.tmp"
  mv -T "$base/.$1.tmp" "$base/$1"
}

unit_value() { # file key: the last value of Key= in a unit file (what systemd would use)
  [[ -f "$1" ]] || return 0
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

# ---------------------------------------------------------------- the service: systemd or supervise.sh
svc_stop() {
  if [[ "$no_systemd" == 1 ]]; then
    local pid i
    pid=$(cat "$sup_dir/supervisor.pid" 2>/dev/null) || return 0
    if kill -TERM "$pid" 2>/dev/null; then
      # supervise.sh stops edge (TERM, then KILL after TimeoutStopSec) and exits; bounded here too.
      for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ -f "$sup_dir/main.pid" ]]; then
      kill -KILL "$(cat "$sup_dir/main.pid")" 2>/dev/null || true
    fi
    rm -f "$sup_dir/supervisor.pid" "$sup_dir/main.pid"
    echo inactive > "$sup_dir/state"
  else
    systemctl stop edge.service 2>/dev/null || true
  fi
}

svc_start() {
  if [[ "$no_systemd" == 1 ]]; then
    mkdir -p "$sup_dir" "$(dirname "$sup_log")"
    echo activating > "$sup_dir/state"
    # Detached from this ssh session: its own session, no terminal, stdin not this script, and not
    # holding the deploy lock (fd 9).
    setsid bash "$base/current/supervise.sh" "$base/current/edge.service" "$sup_dir" </dev/null >>"$sup_log" 2>&1 9>&- &
  else
    systemctl enable --quiet edge.service
    # A release that crash-looped leaves the unit in its start limit; without this reset, starting
    # the rolled-back release would be refused ("start request repeated too quickly").
    systemctl reset-failed edge.service 2>/dev/null || true
    systemctl start --no-block edge.service
  fi
}

svc_state() { # active | activating | failed | inactive | ...
  if [[ "$no_systemd" == 1 ]]; then
    if [[ -f "$sup_dir/state" ]]; then cat "$sup_dir/state"; else echo inactive; fi
  else
    systemctl is-active edge.service 2>/dev/null || true
  fi
}

log_mark() { # where the service's log stands now (before a start)
  if [[ "$no_systemd" == 1 ]]; then
    if [[ -f "$sup_log" ]]; then stat -c %s "$sup_log"; else echo 0; fi
  else
    date +%s
  fi
}

logs_since() { # mark: the service's log since that mark
  if [[ "$no_systemd" == 1 ]]; then
    [[ -f "$sup_log" ]] && tail -c +"$(($1 + 1))" "$sup_log"
  else
    journalctl -u edge.service --since "@$1" -o cat --no-pager
  fi
  return 0
}

run_log() { # mark: what the running service logged since it was started, and nothing before
  if [[ "$no_systemd" == 1 ]]; then
    logs_since "$1"
  else
    # By invocation, not by time: the old release's last lines ("stopped: ... forecasts=N") can
    # reach the journal after a time mark taken right after stopping it.
    local id
    id=$(systemctl show -p InvocationID --value edge.service)
    [[ -n "$id" ]] && journalctl "_SYSTEMD_INVOCATION_ID=$id" -o cat --no-pager
  fi
  return 0
}

install_unit() { # version: make the installed unit that release's unit
  local unit=$releases/$1/edge.service
  if ! cmp -s "$unit" "$unit_path"; then
    install -m 0644 "$unit" "$unit_path"
    say "installed $unit_path"
    [[ "$no_systemd" == 1 ]] || systemctl daemon-reload
  fi
}

# Stop, switch, start, then wait (bounded) for the service to be active with a forecast in its log.
restart_into() { # version
  svc_stop
  switch_link current "$1"
  install_unit "$1"
  mark=$(log_mark)
  svc_start
}

svc_reload() { # SIGHUP to the running edge (the unit's ExecReload)
  if [[ "$no_systemd" == 1 ]]; then
    kill -HUP "$(cat "$sup_dir/main.pid" 2>/dev/null)" 2>/dev/null
  else
    systemctl reload edge.service
  fi
}

# A release that differs from the running one only in its model and config (model-only: the same binary,
# the same unit) is switched in by a reload: the service keeps running, its sinks keep what they queued.
# Only when the running binary reloads on SIGHUP (an older one would exit) and the installed unit has ExecReload.
can_reload() { # old new
  [[ -n "$1" && "$1" != "$2" && "$(svc_state)" == active ]] || return 1
  # The same file: `adopt` hard-linked the running binary into the model-only release.
  [[ "$releases/$1/edge" -ef "$releases/$2/edge" ]] && cmp -s "$releases/$2/edge.service" "$unit_path" || return 1
  grep -q '^ExecReload=' "$unit_path" || return 1
  "$releases/$1/edge" run --help 2>/dev/null | grep -q SIGHUP
}

# Switch the link and SIGHUP; then wait (bounded) for the service to say it reloaded (0), refused (1),
# or refused something only a restart changes (2).
reload_into() { # version timeout
  local deadline=$((SECONDS + $2)) log line
  switch_link current "$1"
  mark=$(log_mark)
  svc_reload || return 2
  while ((SECONDS < deadline)); do
    log=$(logs_since "$mark")
    if line=$(grep -m 1 -E 'reloaded: |reload refused: |reload of .* not switched in' <<<"$log"); then
      if grep -q 'reloaded: ' <<<"$line"; then
        say "reloaded: $(cut -c 1-160 <<<"${line#*reloaded: }")"
        return 0
      fi
      say "the service refused the reload: $(cut -c 1-200 <<<"${line#*reload refused: }")"
      grep -q 'restart edge to change' <<<"$line" && return 2
      return 1
    fi
    [[ "$(svc_state)" == active ]] || break
    sleep 1
  done
  say "no reload within $2 s (state $(svc_state))"
  return 1
}

healthy() { # timeout pattern: 0 when active and a line matching pattern was logged since $mark
  local deadline=$((SECONDS + $1)) state="" line
  while ((SECONDS < deadline)); do
    state=$(svc_state)
    # Read whole, then searched: `run_log | grep -q` would fail under pipefail when grep stops early.
    if [[ "$state" == active ]] && line=$(grep -Ei -m 1 -- "$2" <<<"$(run_log "$mark")"); then
      say "healthy: active, first forecast after $((SECONDS + $1 - deadline)) s: $(cut -c 1-160 <<<"$line")"
      return 0
    fi
    [[ "$state" == failed ]] && break
    sleep 1
  done
  say "unhealthy: state '$state', no line matching /$2/ within $1 s; the service's log since the restart:"
  logs_since "$mark" | tail -n 20 | sed 's/^/  [pi]   | /'
  return 1
}

# ---------------------------------------------------------------- actions
prepare() {
  lock
  if ! id -u edge >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /var/lib/edge --shell /usr/sbin/nologin edge
    say "created system user edge"
  fi
  mkdir -p "$releases"
  chmod 0755 "$base" "$releases"
}

verify() { # version
  local dir=$releases/$1
  [[ -d "$dir" ]] || die "$dir is missing"
  (cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS) || die "checksums of $dir do not match SHA256SUMS (a damaged copy): deploy again"
  chown -R root:root "$dir"
  find "$dir" -type d -exec chmod 0755 {} +
  find "$dir" -type f -exec chmod 0644 {} +
  chmod 0755 "$dir/edge"
  # The config and the files it names may hold credentials (an MQTT password, a password file):
  # readable by root and the service only.
  local private=("$dir/config.json")
  [[ -d "$dir/files" ]] && private+=("$dir/files")
  chgrp -R edge "${private[@]}"
  find "${private[@]}" -type f -exec chmod 0640 {} +
  say "checksums ok: $(grep -c . "$dir/SHA256SUMS") files in $dir"
}

verify_unit() { # version: systemd-analyze verify the release's unit before anything is switched
  command -v systemd-analyze >/dev/null || { say "note: no systemd-analyze here; the unit is not verified"; return 0; }
  # Also with --no-systemd: it is what a real boot would use. ExecStart must exist, User= resolve and
  # every directive be known to this systemd. The unit names /opt/edge/current, which may not exist
  # yet (or be the old release), so a copy pointing at the new release is verified.
  local tmp out
  tmp=$(mktemp -d)
  sed "s#$base/current#$releases/$1#g" "$releases/$1/edge.service" >"$tmp/edge.service"
  if ! out=$(systemd-analyze verify "$tmp/edge.service" 2>&1); then
    printf '%s\n' "$out" | sed 's/^/  [pi]   | /'
    rm -rf "$tmp"
    die "systemd-analyze verify rejects the unit of release $1 (above); nothing was switched"
  fi
  rm -rf "$tmp"
  say "systemd-analyze verify: edge.service ok${out:+ (notes: $(printf '%s' "$out" | tr '\n' ' ' | cut -c 1-200))}"
}

selftest() { # version
  local dir=$releases/$1 out
  verify_unit "$1"
  say "edge --version: $("$dir/edge" --version 2>&1 | sed -n 1p || true)"
  # As the service's user, so a binary that only works as root is caught here; bounded.
  if out=$(cd "$dir" && timeout 600 setpriv --reuid=edge --regid=edge --clear-groups --no-new-privs -- ./edge selftest 2>&1); then
    printf '%s\n' "$out" | tail -n 5 | sed 's/^/  [pi]   | /'
    say "edge selftest passed"
  else
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/  [pi]   | /'
    die "edge selftest failed on release $1 (exit code above); nothing was switched, the service still runs $(release_of current || true)"
  fi
  # The model the service will load, with its config: loads, its contract matches, a forecast runs.
  # A binary from before `edge model-check` existed is only checked by the health check, unless
  # required (a model-only deploy keeps the installed binary and has only this check before the switch).
  if (cd "$dir" && ./edge --help 2>&1 | grep -qw model-check); then
    if out=$(cd "$dir" && timeout 300 setpriv --reuid=edge --regid=edge --clear-groups --no-new-privs -- ./edge model-check --config "$dir/config.json" 2>&1); then
      say "edge model-check: $(printf '%s' "$out" | tail -n 1 | cut -c 1-200)"
    else
      printf '%s\n' "$out" | tail -n 20 | sed 's/^/  [pi]   | /'
      die "edge model-check rejects the model of release $1 with its config (above); nothing was switched, the service still runs $(release_of current || true)"
    fi
  elif [[ "${2:-}" == require-model-check ]]; then
    die "the installed edge has no model-check command: deploy a newer binary once (without --model-only)"
  else
    say "note: this edge has no model-check command; the model is checked by the health check after the switch"
  fi
  # The config as the service will read it (its user, its path): unknown keys, bad values, files.
  if out=$(cd "$dir" && timeout 120 setpriv --reuid=edge --regid=edge --clear-groups --no-new-privs -- ./edge run --config "$dir/config.json" --print-config 2>&1); then
    say "edge run --print-config: the config is valid"
  else
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/  [pi]   | /'
    die "edge run --config rejects the config of release $1 (above); nothing was switched"
  fi
}

current() { # read-only: what a model-only release needs of the current one (the binary's checksums)
  local cur
  cur=$(release_of current)
  [[ -n "$cur" && -f "$releases/$cur/SHA256SUMS" ]] || die "no current release on this Pi: deploy the binary once first (without --model-only)"
  echo "$cur"
  sed -n '2,$p' "$releases/$cur/VERSION"
  echo "--"
  cat "$releases/$cur/SHA256SUMS"
}

adopt() { # version: a model-only release takes the binary (and its libraries) of the current release
  local v=$1 cur f n=0
  lock
  cur=$(release_of current)
  [[ -n "$cur" && -d "$releases/$cur" ]] || die "no current release to take the binary from"
  [[ -f "$releases/$v/SHA256SUMS" ]] || die "$releases/$v/SHA256SUMS is missing (copy the release first)"
  # Every file SHA256SUMS lists that was not copied: from the current release, hard-linked (releases
  # are never modified in place, so sharing the inode costs no space and changes nothing).
  while read -r _ f; do
    [[ -e "$releases/$v/$f" ]] && continue
    [[ -f "$releases/$cur/$f" ]] || die "$f is neither in the new release nor in the current one ($cur)"
    cp -l "$releases/$cur/$f" "$releases/$v/$f" 2>/dev/null || cp -p "$releases/$cur/$f" "$releases/$v/$f"
    n=$((n + 1))
  done <"$releases/$v/SHA256SUMS"
  say "took $n file(s) from release $cur: $(cd "$releases/$cur" && find . -maxdepth 1 -type f \( -name edge -o -name '*.so' \) -printf '%f ' 2>/dev/null)(not copied over the network)"
}

prune() { # keep: the newest `keep` activated releases, plus current and previous; never anything else
  local keep=$1 v
  local -A keepers=()
  [[ -n "$(release_of current)" ]] && keepers[$(release_of current)]=1
  [[ -n "$(release_of previous)" ]] && keepers[$(release_of previous)]=1
  if [[ -f "$base/history" ]]; then
    while read -r v; do
      ((${#keepers[@]} >= keep)) && break
      keepers[$v]=1
    done < <(tac "$base/history" | awk '!seen[$0]++')
    tac "$base/history" | awk '!seen[$0]++ && n++ < 50' | tac > "$base/.history.tmp"
    mv -f "$base/.history.tmp" "$base/history"
  fi
  for d in "$releases"/*/; do
    [[ -d "$d" ]] || continue
    v=$(basename "$d")
    if [[ -z "${keepers[$v]:-}" ]]; then
      rm -rf -- "$d"
      say "removed old release $v"
    fi
  done
}

activate() { # version keep timeout pattern
  local v=$1 keep=$2 timeout=$3 pattern=$4 old
  lock
  [[ -x "$releases/$v/edge" ]] || die "release $v is not on the Pi (verify it first)"
  old=$(release_of current)
  if [[ "$old" == "$v" ]] && cmp -s "$releases/$v/edge.service" "$unit_path" && [[ "$(svc_state)" == active ]]; then
    say "release $v is already current and the service is active: nothing to switch"
    prune "$keep"
    return 0
  fi
  if can_reload "$old" "$v"; then
    local rc=0
    reload_into "$v" "$timeout" || rc=$?
    if ((rc == 0)); then
      switch_link previous "$old"
      echo "$v" >> "$base/history"
      say "switched current: $old -> $v; service reloaded (still running, its queued forecasts kept)"
      prune "$keep"
      return 0
    fi
    if ((rc == 1)); then
      # Nothing changed in the service: it refused the new model or config and runs the old one.
      switch_link current "$old"
      say "ROLLBACK: release $v was refused by the running service; current is $old again (the service never stopped)"
      exit 3
    fi
    say "release $v needs a restart (above): restarting"
  fi
  restart_into "$v"
  if [[ "$old" != "$v" ]]; then
    [[ -n "$old" ]] && switch_link previous "$old"
    echo "$v" >> "$base/history"
  fi
  say "switched current: ${old:-<none>} -> $v; service restarted"
  if healthy "$timeout" "$pattern"; then
    prune "$keep"
    return 0
  fi
  if [[ -n "$old" && "$old" != "$v" && -d "$releases/$old" ]]; then
    say "ROLLBACK: release $v failed its health check; switching back to $old"
    restart_into "$old"
    switch_link previous "$v"
    echo "$old" >> "$base/history"
    if healthy "$timeout" "$pattern"; then
      say "ROLLED BACK: the service runs $old again"
      exit 3
    fi
    die "rolled back to $old, but it is not healthy either: see --status"
  fi
  svc_stop
  die "release $v failed its health check and there is no previous release to roll back to: the service is stopped"
}

rollback() { # timeout pattern (a manual --rollback: current <-> previous)
  local cur prev
  lock
  cur=$(release_of current)
  prev=$(release_of previous)
  [[ -n "$prev" && -d "$releases/$prev" ]] || die "no previous release to roll back to (current: ${cur:-none})"
  restart_into "$prev"
  [[ -n "$cur" ]] && switch_link previous "$cur"
  echo "$prev" >> "$base/history"
  say "rolled back: current ${cur:-<none>} -> $prev"
  healthy "$1" "$2" || die "the service is not healthy on $prev either: see --status"
}

status() {
  local cur
  cur=$(release_of current)
  say "current:  ${cur:-<none>}$([[ -n "$cur" ]] && sed -n '2,$s/^/ /p' "$releases/$cur/VERSION" | tr '\n' ' ')"
  say "previous: $(release_of previous)"
  say "releases: $(find "$releases" -mindepth 1 -maxdepth 1 -type d -printf '%f ' 2>/dev/null)"
  if [[ "$no_systemd" == 1 ]]; then
    say "service (supervise.sh): $(svc_state), pid $(cat "$sup_dir/main.pid" 2>/dev/null || echo -)"
    say "recent log ($sup_log):"
    tail -n 30 "$sup_log" 2>/dev/null | sed 's/^/  [pi]   | /' || true
  else
    systemctl status edge.service --no-pager --lines=0 2>&1 | sed 's/^/  [pi]   /' || true
    say "recent log:"
    journalctl -u edge.service -n 30 --no-pager -o short-iso 2>&1 | sed 's/^/  [pi]   | /' || true
  fi
}

summary() { # read-only, one line for a fleet table: version, model sha256, service state
  local cur sha=-
  cur=$(release_of current)
  [[ -n "$cur" ]] && sha=$(sed -n 's/^model=.* sha256=\([0-9a-f]*\).*/\1/p' "$releases/$cur/VERSION" 2>/dev/null)
  printf 'edge-summary: version=%s model_sha256=%s state=%s previous=%s\n' "${cur:--}" "${sha:--}" "$(svc_state)" "$(release_of previous || true)"
}

uninstall() {
  lock
  svc_stop
  if [[ "$no_systemd" != 1 ]]; then
    systemctl disable --quiet edge.service 2>/dev/null || true
  fi
  if [[ -f "$unit_path" ]]; then
    rm -f "$unit_path"
    [[ "$no_systemd" == 1 ]] || systemctl daemon-reload
    say "removed $unit_path"
  fi
  rm -rf "$sup_dir"
  rm -rf -- "$releases" "$base/current" "$base/previous" "$base/history" "$base"/.*.tmp
  rm -f "$base/.deploy.lock"
  rmdir "$base" 2>/dev/null || true
  say "removed /opt/edge"
  say "kept: the edge user and /var/lib/edge (the service's data): sudo userdel edge; sudo rm -rf /var/lib/edge"
}

action=${1:-}
shift || true
case "$action" in
  preflight) preflight "$@" ;;
  glibc) glibc_check "$1" | sed 's/^/  [pi] /' ;;
  prepare) prepare ;;
  verify) verify "$@" ;;
  selftest) selftest "$@" ;;
  current) current ;;
  summary) summary ;;
  adopt) adopt "$@" ;;
  activate) activate "$@" ;;
  rollback) rollback "$@" ;;
  status) status ;;
  uninstall) uninstall ;;
  *) die "unknown action '$action'" ;;
esac
