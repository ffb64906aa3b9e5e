#!/usr/bin/env bash
# Checks the shipped unit's sandbox against the node.
#   scripts/sandbox-check.sh            the node issues tickets under the unit's seccomp filter
#                                       (tests/cli/systemd_sandbox.rs), and, where systemd runs as the
#                                       service manager, under the unit's own properties via systemd-run
#   scripts/sandbox-check.sh --update   rewrites tests/sandbox/system-service.syscalls from this
#                                       machine's systemd-analyze, for the unit's SystemCallFilter= groups
set -euo pipefail
cd "$(dirname "$0")/.."
unit=systemd/hallq.service
list=tests/sandbox/system-service.syscalls

expand() {
  systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//' | grep -v -e '^#' -e '^$' |
    while read -r name; do
      case "$name" in
        @*) expand "$name" ;;
        *) echo "$name" ;;
      esac
    done
}

if [ "${1:-}" = "--update" ]; then
  groups=$(sed -n 's/^SystemCallFilter=//p' "$unit" | tr ' ' '\n' | grep -v '^$')
  {
    echo "# The system calls systemd allows a unit with SystemCallFilter=$(echo $groups), groups expanded:"
    echo "# \`scripts/sandbox-check.sh --update\` writes it from \`systemd-analyze syscall-filter\` ($(systemd-analyze --version | head -1 | cut -d' ' -f1-2))."
    echo "# tests/cli/systemd_sandbox.rs runs the node under exactly this list and checks it against systemd-analyze."
    echo "$groups"
    for g in $groups; do expand "$g"; done | sort -u
  } > "$list"
  echo "wrote $list"
  exit 0
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo test --locked --test cli systemd_sandbox

# With a running service manager, the unit's own [Service] sandbox lines apply as they are.
if [ "$(systemctl is-system-running 2>/dev/null || true)" = "running" ] ||
   [ "$(systemctl is-system-running 2>/dev/null || true)" = "degraded" ]; then
  # Outside /tmp (PrivateTmp=) and /home (ProtectHome=), so the service sees it; the binary goes there too.
  dir=$(mktemp -d -p /var/lib hallq-sandbox-check.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  port=18479
  sed -e 's/^mon-fri = .*/mon-sun = "00:00-23:59"/' -e '/^sat = /d' -e '/^sun = /d' \
    hardware/hall.example.toml > "$dir/hall.toml"
  printf '\n[lan]\nlisten = "127.0.0.1:%s"\nhall_url = "http://127.0.0.1:%s"\n' "$port" "$port" >> "$dir/hall.toml"
  cp "$CARGO_TARGET_DIR/debug/hallq" "$dir/hallq"
  bin="$dir/hallq"
  code=$("$bin" pair code --config "$dir/hall.toml" --db "$dir/hall.db" --role kiosk)
  chmod -R a+rwX "$dir"
  props=()
  while IFS= read -r line; do
    case "$line" in
      NoNewPrivileges=* | Protect*=* | PrivateTmp=* | Restrict*=* | LockPersonality=* | \
        MemoryDenyWriteExecute=* | SystemCall*=* | CapabilityBoundingSet=*)
        props+=(-p "$line") ;;
    esac
  done < "$unit"
  unit_name="hallq-sandbox-check-$$"
  systemd-run --unit="$unit_name" -p DynamicUser=yes -p ReadWritePaths="$dir" "${props[@]}" \
    "$bin" run --config "$dir/hall.toml" --headless --db "$dir/hall.db" --seconds 30
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  token=$(curl -fs -X POST -H 'content-type: application/json' \
    -d "{\"code\":\"$code\",\"name\":\"sandbox check\",\"role\":\"kiosk\"}" \
    "http://127.0.0.1:$port/api/v1/pair" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  answer=$(curl -fs -X POST -H 'content-type: application/json' -H "authorization: Bearer $token" \
    -d '{"command_id":"sandbox-check-1","command":{"command":"issue_ticket","service":"SB"}}' \
    "http://127.0.0.1:$port/api/v1/commands")
  echo "$answer" | grep -q '"number":"A001"' || { echo "no ticket: $answer" >&2; exit 1; }
  systemctl is-active --quiet "$unit_name" || { echo "the node died under the unit's sandbox" >&2; exit 1; }
  systemctl stop "$unit_name"
  echo "the node issued a ticket under the unit's own sandbox"
else
  echo "no running service manager here: the unit's mount-namespace settings were not exercised"
fi
