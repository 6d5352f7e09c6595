#!/usr/bin/env bash
# A stand-in for the Dockerfile's base image (node:20-bookworm-slim) on a machine that reaches no image
# registry but does reach Debian's packages: Debian bookworm (debootstrap --variant=minbase), this
# machine's own Node 20 and npm, a `node` user (uid 1000) as in the official image, and this machine's
# CA certificates (a build behind a TLS-inspecting proxy needs them: `npm ci` fails with
# SELF_SIGNED_CERT_IN_CHAIN otherwise; NODE_EXTRA_CA_CERTS points at them). Imported under the base's
# tag so the project's Dockerfile builds unchanged. Needs root, debootstrap and a running Docker engine.
#
#   infra/docker/stand-in-base.sh [TAG]       (default node:20-bookworm-slim; does nothing if TAG exists)
#
# The debootstrap tree is cached in POST_BASE_CACHE (default /var/cache/post-lab): later runs take seconds.
set -euo pipefail
TAG="${1:-node:20-bookworm-slim}"
CACHE="${POST_BASE_CACHE:-/var/cache/post-lab}"
ROOTFS="$CACHE/bookworm-minbase"
MIRROR="${POST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
say() { echo "stand-in-base: $*" >&2; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG exists"
  exit 0
fi
command -v debootstrap >/dev/null || { say "debootstrap is missing: apt-get install -y debootstrap"; exit 1; }
NODE="$(command -v node)"
case "$("$NODE" --version)" in v20.*) ;; *) say "this machine's node is $("$NODE" --version), not Node 20"; exit 1 ;; esac
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"

if [ ! -f "$ROOTFS/.complete" ]; then
  say "debootstrap bookworm into $ROOTFS (once; a few minutes)"
  rm -rf "$ROOTFS.tmp"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bookworm "$ROOTFS.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { say "debootstrap failed; see $CACHE/debootstrap.log"; exit 1; }
  rm -rf "$ROOTFS"
  mv "$ROOTFS.tmp" "$ROOTFS"
  touch "$ROOTFS/.complete"
fi

CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
MINBASE="post-lab-minbase:bookworm"
if ! docker image inspect "$MINBASE" >/dev/null 2>&1; then
  say "importing $ROOTFS as $MINBASE"
  tar -C "$ROOTFS" --exclude=./.complete --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . | docker import - "$MINBASE" >/dev/null
fi
cp "$NODE" "$CONTEXT/node"
cp -r "$NPM_DIR" "$CONTEXT/npm"
mkdir "$CONTEXT/certs"
cp /etc/ssl/certs/ca-certificates.crt "$CONTEXT/certs/bundle.crt"
# Extra CAs of this machine: kept when the Dockerfile installs ca-certificates (update-ca-certificates).
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then cp /usr/local/share/ca-certificates/*.crt "$CONTEXT/certs/"; fi
cat >"$CONTEXT/Dockerfile" <<'EOF'
FROM post-lab-minbase:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY certs/ /usr/local/share/ca-certificates/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && mkdir -p /etc/ssl/certs && cp /usr/local/share/ca-certificates/bundle.crt /etc/ssl/certs/ca-certificates.crt \
 && rm /usr/local/share/ca-certificates/bundle.crt \
 && echo 'node:x:1000:' >>/etc/group \
 && echo 'node:x:1000:1000::/home/node:/bin/bash' >>/etc/passwd \
 && echo 'node:*:19000:0:99999:7:::' >>/etc/shadow \
 && mkdir -p /home/node && chown 1000:1000 /home/node \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
say "building $TAG from $MINBASE with $NODE ($("$NODE" --version))"
docker build -q -t "$TAG" "$CONTEXT" >/dev/null
say "$TAG ready"
