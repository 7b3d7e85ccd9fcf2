#!/usr/bin/env bash
# Builds the container image's runtime contents into a root filesystem, without a container engine
# or a registry (neither is reachable from the build machines):
#
#   deploy/image/build-rootfs.sh OUT_DIR        (after `npm run build`)
#
# The tree is laid out as the Containerfile's run stage:
#   /usr/bin/node + the shared libraries `ldd` names for it (and the dynamic loader)
#   /opt/app-root/src/{package.json,dist/src,dist/web,dist/canopy-web,node_modules (production only)}
#   /var/lib/litemaas   the data volume's mount point (root:0, 0770: any UID in group 0 writes)
#   /tmp, /proc, /dev, /etc/litemaas   mount points (the last for the stack's and Canopy's ConfigMaps)
#   /etc/hosts, /etc/nsswitch.conf
# and nothing else: no shell, no package manager, no passwd entry for the UID that will run it
# (as on OpenShift, where the UID is assigned). Files are root-owned and read-only for everyone
# else. Node comes from this machine (Debian's packages or NODE=/path/to/node); production
# node_modules are the lockfile's non-dev packages, copied from the installed tree, so no network.
# deploy/image/run-rootfs.sh runs it the way a restricted pod would.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR   (env: NODE=path to the node binary, APP=the repository; defaults: \$(command -v node), this checkout)" >&2; exit 2; }
[ $# -eq 1 ] || usage
out=$1
here=$(cd "$(dirname "$0")" && pwd)
app=${APP:-$(cd "$here/../.." && pwd)}
node_bin=$(readlink -f "${NODE:-$(command -v node)}")

for f in dist/src/cli.js dist/web/index.html dist/canopy-web/index.html package.json node_modules; do
  [ -e "$app/$f" ] || { echo "build-rootfs: $app/$f is missing; run 'npm ci && npm run build' first" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
dst="$out/opt/app-root/src"
mkdir -p "$out/usr/bin" "$out/etc/litemaas" "$out/tmp" "$out/proc" "$out/dev" "$out/var/lib/litemaas" "$dst/dist" "$dst/node_modules"

# Merged /usr as on the host (Debian 12: /lib -> usr/lib, /lib64 -> usr/lib64), so the loader's paths hold.
for d in lib lib64; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$out/$d"; fi
done

# node and every shared library it loads, at the same paths.
install -m 0755 "$node_bin" "$out/usr/bin/node"
libs=$(ldd "$node_bin" | awk '/=> \//{print $3} /^[[:space:]]*\//{print $1}')
for lib in $libs; do
  dir=$(readlink -f "$(dirname "$lib")")
  mkdir -p "$out$dir"
  cp -L "$lib" "$out$dir/$(basename "$lib")"
  chmod 0755 "$out$dir/$(basename "$lib")"
done

# The app: the build's output (not the bench) and package.json ("type": "module").
cp "$app/package.json" "$dst/"
cp -R "$app/dist/src" "$app/dist/web" "$app/dist/canopy-web" "$dst/dist/"

# Production dependencies only: the lockfile's packages not flagged `dev` (what `npm ci --omit=dev`
# installs), copied from the installed tree without their nested node_modules (nested packages are
# entries of their own). Optional packages for other platforms are not installed and are skipped.
nm=$(readlink -f "$app/node_modules")
count=0
while IFS= read -r rel; do
  [ -d "$nm/$rel" ] || continue
  mkdir -p "$dst/node_modules/$rel"
  (cd "$nm/$rel" && tar -cf - --exclude=./node_modules .) | (cd "$dst/node_modules/$rel" && tar -xf -)
  count=$((count + 1))
done < <("$node_bin" -e '
  const lock = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [path, p] of Object.entries(lock.packages ?? {}))
    if (path.startsWith("node_modules/") && !p.dev && !p.link) console.log(path.slice("node_modules/".length));
' "$app/package-lock.json")
[ "$count" -gt 0 ] || { echo "build-rootfs: the lockfile names no production packages" >&2; exit 1; }

cat > "$out/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost
EOF
echo 'hosts: files dns' > "$out/etc/nsswitch.conf"

# Root-owned and not writable but for root; the data volume's mount point is group 0's.
chown -R 0:0 "$out"
chmod -R u+rwX,go+rX,go-w "$out"
chmod 0770 "$out/var/lib/litemaas"
chmod 1777 "$out/tmp"

{
  echo "node $("$node_bin" --version) from $node_bin"
  echo "libraries: $(echo $libs | tr '\n' ' ')"
  echo "production packages: $count"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$out/etc/litemaas-rootfs"
chmod 0644 "$out/etc/litemaas-rootfs"
echo "build-rootfs: $out ($(du -sh "$out" | cut -f1), $count production packages, node $("$node_bin" --version))"
