#!/usr/bin/env bash
# mkimage.sh ROOTFS REF OUT.tar CMD...
# Writes an OCI image layout tarball (one layer: the tree ROOTFS, owned by
# root) for the local architecture, entrypoint CMD, named REF (annotation
# io.containerd.image.name, which `ctr images import` uses as the image name).
# No registry, no docker: tar, sha256sum and jq only.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 ROOTFS REF OUT.tar CMD..." >&2; exit 2; }
rootfs=$1 ref=$2 out=$3; shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

# put FILE: move FILE into the blob store, print "DIGEST SIZE"
put() {
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$work/blobs/sha256/$d"
    echo "$d $s"
}

tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime=@0 -cf "$work/layer.tar" .
read -r ldig lsize < <(put "$work/layer.tar")

cmd=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
jq -nc --arg diff "sha256:$ldig" --argjson cmd "$cmd" '{
    architecture: "amd64", os: "linux",
    config: {Entrypoint: $cmd, Env: ["PATH=/bin"], WorkingDir: "/"},
    rootfs: {type: "layers", diff_ids: [$diff]}
}' >"$work/config.json"
read -r cdig csize < <(put "$work/config.json")

jq -nc --arg c "sha256:$cdig" --argjson cs "$csize" --arg l "sha256:$ldig" --argjson ls "$lsize" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]
}' >"$work/manifest.json"
read -r mdig msize < <(put "$work/manifest.json")

jq -nc --arg m "sha256:$mdig" --argjson ms "$msize" --arg ref "$ref" '{
    schemaVersion: 2,
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
                 digest: $m, size: $ms,
                 platform: {architecture: "amd64", os: "linux"},
                 annotations: {"io.containerd.image.name": $ref,
                               "org.opencontainers.image.ref.name": ($ref | sub(".*:"; ""))}}]
}' >"$work/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -cf "$out" oci-layout index.json blobs
