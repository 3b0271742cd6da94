#!/usr/bin/env bash
# Builds Shoal's offline test image: a tiny OCI image whose whole userland is busybox-static
# (httpd, nc, wget, ip, sh ...), serving /www/index.html with `busybox httpd` on port 80. Tests
# and the demo need a real image without a network or a public registry; this one builds from
# packages already on the machine in well under a second.
#
#   build-test-image.sh OUT_DIR [NAME:TAG]     (default NAME:TAG: shoal/httpd:test)
#
# Writes OUT_DIR/oci (an OCI image layout, its one image tagged TAG) and OUT_DIR/image.tar (a
# `docker save` style archive of NAME:TAG, for the import path). Running it again replaces both.
# The image config: Cmd httpd -f -p 80 -h /www, ExposedPorts 80/tcp, Env PATH and
# SHOAL_TEST_IMAGE=1, WorkingDir /www, StopSignal SIGINT (not the default SIGTERM, so a test can
# tell that the image's signal was used); users root (0) and www (33).
set -euo pipefail

die() { echo "build-test-image.sh: $*" >&2; exit 1; }

need() {  # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package '$2'"
}

[[ $# -ge 1 && $# -le 2 ]] || die "usage: build-test-image.sh OUT_DIR [NAME:TAG]"
out=$1
ref=${2:-shoal/httpd:test}
# The tag follows the last ':' after the last '/' (NAME may hold a registry's host:port).
[[ ${ref##*/} == *:* ]] || die "'$ref' is not NAME:TAG"
name=${ref%:*}
tag=${ref##*:}
[[ -n $name && $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "'$ref' is not NAME:TAG"

need umoci umoci
need skopeo skopeo
busybox=/bin/busybox
[[ -x $busybox ]] || die "$busybox not found: install the Debian package 'busybox-static'"
# A dynamically linked busybox (package 'busybox') would need its libraries in the image.
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
  die "$busybox is not statically linked: install the Debian package 'busybox-static'"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The root filesystem, laid out as Debian's (merged /usr): busybox and one symlink per applet in
# /usr/bin, with /bin, /sbin and /usr/sbin pointing there. `busybox --install -s` makes the links
# in one process (a loop of ln(1) takes seconds on a busy machine); they point to the path the
# host's busybox runs from, which is /bin/busybox or /usr/bin/busybox: both resolve in this layout.
make_rootfs() {
  local root=$1 applet target
  mkdir -p "$root"/{usr/bin,etc,www,tmp,root}
  chmod 1777 "$root/tmp"
  chmod 0700 "$root/root"
  cp "$busybox" "$root/usr/bin/busybox"
  ln -s usr/bin "$root/bin"
  ln -s usr/bin "$root/sbin"
  ln -s bin "$root/usr/sbin"
  "$busybox" --install -s "$root/usr/bin"
  target=$(readlink "$root/usr/bin/sh") || die "busybox --install made no applet links"
  if [[ $target != /bin/busybox && $target != /usr/bin/busybox ]]; then
    for applet in $("$busybox" --list); do  # slow, but right wherever busybox lives
      [[ $applet == busybox ]] || ln -sfn busybox "$root/usr/bin/$applet"
    done
  fi
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'www:x:33:33:www:/www:/bin/false' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'www:x:33:' 'nogroup:x:65534:' >"$root/etc/group"
  printf '%s\n' '<!doctype html>' '<title>shoal test image</title>' \
    '<p>Hello from the shoal test image.</p>' >"$root/www/index.html"
  chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/www/index.html
}

# unpack/repack rather than `insert rootfs /`: insert names the layer's root entry "/", an
# absolute path that careful unpackers refuse.
layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
make_rootfs "$work/bundle/rootfs"
umoci repack --image "$layout:$tag" --history.created_by 'build-test-image.sh: busybox-static rootfs' \
  "$work/bundle" >/dev/null
umoci config --image "$layout:$tag" \
  --config.cmd httpd --config.cmd -f --config.cmd -p --config.cmd 80 --config.cmd -h --config.cmd /www \
  --config.exposedports 80/tcp \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env SHOAL_TEST_IMAGE=1 \
  --config.workingdir /www \
  --config.stopsignal SIGINT \
  --author shoal --history.created_by 'build-test-image.sh: config'
umoci gc --layout "$layout"
skopeo copy --quiet "oci:$layout:$tag" "docker-archive:$work/image.tar:$name:$tag" >/dev/null

# Replace the previous outputs only once the new ones are complete.
rm -rf "$out/oci" "$out/image.tar"
mv "$layout" "$out/oci"
mv "$work/image.tar" "$out/image.tar"
