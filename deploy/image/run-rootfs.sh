#!/usr/bin/env bash
# Runs the image's root filesystem (from build-rootfs.sh) the way a restricted pod runs the image,
# without a container engine:
#
#   deploy/image/run-rootfs.sh [--uid N] [--data DIR] [-e NAME=VALUE]... [--mount SRC:/etc/litemaas]...
#                              [--entrypoint PROGRAM] ROOTFS [args...]
#
# The entrypoint is the image's (node dist/src/cli.js), so the arguments are litemaas's: `serve`.
#
# - a mount namespace and a PID namespace of its own (unshare): the command is PID 1 there; on the
#   host it is the only child of this script's process (unshare), /proc/<pid>/task/<pid>/children,
#   and that is the PID to send SIGTERM to (unshare itself ignores it);
# - the root filesystem bind-mounted read-only; writable only /var/lib/litemaas (DIR, the data
#   volume) and /tmp (a tmpfs); /proc and a /dev with null, zero, random, urandom; --mount binds a
#   host directory read-only at a mount point the tree has (/etc/litemaas, as a ConfigMap volume);
# - chroot, then the UID given (default: a random one from OpenShift's range) with group 0 and no
#   supplementary groups, no capabilities, no_new_privs (setpriv);
# - the environment is the image's (Containerfile ENV) plus the -e values, nothing of the caller's;
# - the host's network (as hostNetwork: the caller reaches it on 127.0.0.1).
# Needs root (or CAP_SYS_ADMIN) for the namespaces and mounts.
set -euo pipefail

if [ "${1:-}" = "--inside" ]; then
  shift
  root=$1 data=$2 uid=$3; shift 3
  n=$1; shift
  envs=("${@:1:$n}"); shift "$n"
  n=$1; shift
  mounts=("${@:1:$n}"); shift "$n"
  entry=$1; shift
  mount --make-rprivate /
  mount --bind "$root" "$root"                     # its own mount, so it can be made read-only
  mount --bind "$data" "$root/var/lib/litemaas"
  mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs "$root/tmp"
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  mount -t tmpfs -o mode=0755,size=64k,nosuid tmpfs "$root/dev"
  for d in null zero random urandom; do
    : > "$root/dev/$d"
    mount --bind "/dev/$d" "$root/dev/$d"
  done
  for m in "${mounts[@]}"; do                      # ConfigMap-like files: read-only
    mount --bind "${m%%:*}" "$root${m#*:}"
    mount -o remount,bind,ro,nosuid,nodev "$root${m#*:}"
  done
  mount -o remount,bind,ro,nosuid,nodev "$root"   # the root filesystem: read-only
  # setpriv: no new privileges, then chroot switches to the UID (group 0, no supplementary groups),
  # which drops every capability; node replaces it as this PID.
  exec env -i PATH=/usr/bin HOME=/tmp NODE_ENV=production HOST=0.0.0.0 PORT=8080 \
    LITEMAAS_DATA_DIR=/var/lib/litemaas CANOPY_DATA_DIR=/var/lib/litemaas/canopy \
    STACK_CONFIG_PATH=/etc/litemaas/stack.yaml CANOPY_CONFIG_PATH=/etc/litemaas/canopy.yaml "${envs[@]}" \
    "$(command -v setpriv)" --no-new-privs -- "$(command -v chroot)" --userspec="$uid:0" --groups=0 "$root" \
    $entry "$@"
fi

uid=$(( 1000600000 + RANDOM * 3 ))
data=
envs=()
mounts=()
entry="/usr/bin/node /opt/app-root/src/dist/src/cli.js"
while [ $# -gt 0 ]; do
  case "$1" in
    --uid) uid=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    --entrypoint) entry=$2; shift 2 ;;
    --mount) mounts+=("$(readlink -f "${2%%:*}"):${2#*:}"); shift 2 ;;
    --) shift; break ;;
    -*) echo "run-rootfs: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--uid N] [--data DIR] [-e NAME=VALUE]... [--mount SRC:DST]... [--entrypoint PROGRAM] ROOTFS [args...]" >&2; exit 2; }
root=$(readlink -f "$1"); shift
[ -x "$root/usr/bin/node" ] || { echo "run-rootfs: $root has no /usr/bin/node (build it with build-rootfs.sh)" >&2; exit 1; }
if [ -z "$data" ]; then data=$(mktemp -d); else mkdir -p "$data"; fi
data=$(readlink -f "$data")
# The volume as the platform gives it: group 0, group-writable (fsGroup-like), owned by the UID.
chown "$uid:0" "$data"
chmod 0770 "$data"
exec unshare --mount --pid --fork --kill-child -- "$0" --inside "$root" "$data" "$uid" "${#envs[@]}" "${envs[@]}" "${#mounts[@]}" "${mounts[@]}" "$entry" "$@"
