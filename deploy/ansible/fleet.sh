#!/usr/bin/env bash
# One command from the desktop: the rolling rollout (edge.yml), then the fleet summary (status.yml)
# whatever the rollout did. Arguments go to both ansible-playbook runs (-i INVENTORY, --check, -e ...).
# Exit code: the rollout's (0 all deployed; 2 a host failed and the rollout stopped; 4 unreachable).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v ansible-playbook >/dev/null || { echo "fleet.sh: ansible-playbook is not installed: sudo apt-get install -y ansible" >&2; exit 1; }
ansible-playbook "$here/edge.yml" "$@"
rc=$?
echo
echo "==> fleet summary"
ansible-playbook "$here/status.yml" "$@" | sed -n '/"msg": \[/,/\]/p' | sed -e '1d' -e '$d' -e 's/^ *"//' -e 's/",\{0,1\}$//'
exit "$rc"
