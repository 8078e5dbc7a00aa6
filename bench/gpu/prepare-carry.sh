#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored), the one folder a GPU-machine run carries (the device tool's
# `carry: [".gpu"]`): that machine has no network, no install, and takes the working tree plus at
# most 64 MiB. Run here, on a machine with the repo installed and network to Debian's archive:
#
#   bash bench/gpu/prepare-carry.sh
#
# .gpu/moepp-dist.tar.xz   `pnpm gpu:bundle`'s dist/, compressed (the trainer, the bench, the check)
# .gpu/node.xz             this machine's node binary, for a machine without Node
# .gpu/openblas.tar.xz     the shared libraries the OpenBLAS addon links (libopenblas.so.0 and
#                          its Fortran runtime), which that machine's image does not list: with
#                          them `blas` and `cuda` load there (LD_LIBRARY_PATH)
# .gpu/gl/*.deb            the Vulkan loader (libvulkan1), the GL vendor-neutral libraries the
#                          NVIDIA ICD loads, as the device notes advise: that
#                          machine's driver ships an ICD but possibly no loader
# Then bench/gpu/run-on-device.sh runs there. Prints the size of each piece and the total.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu/gl

npx -y pnpm@12.4.2 gpu:bundle
tar -C dist -cf - . | xz -T1 -6 > .gpu/moepp-dist.tar.xz.partial
mv .gpu/moepp-dist.tar.xz.partial .gpu/moepp-dist.tar.xz

node_bin=$(command -v node)
if [ ! -f .gpu/node.version ] || [ "$(cat .gpu/node.version)" != "$(node -v)" ]; then
  xz -T1 -6 -c "$node_bin" > .gpu/node.xz.partial
  mv .gpu/node.xz.partial .gpu/node.xz
  node -v > .gpu/node.version
fi

addon=packages/backends/native/build/Release/moepp_blas.node
if [ -f "$addon" ]; then
  libs=$(mktemp -d)
  # The addon's own libraries by soname (not libc, libm, libstdc++: every Linux has those).
  ldd "$addon" | awk '/libopenblas|libgfortran|libquadmath/ { print $1, $3 }' | while read -r soname path; do cp -L "$path" "$libs/$soname"; done
  tar -C "$libs" -cf - . | xz -T1 -6 > .gpu/openblas.tar.xz.partial
  mv .gpu/openblas.tar.xz.partial .gpu/openblas.tar.xz
  rm -rf "$libs"
fi

if ! ls .gpu/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  apt_amd64=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${apt_amd64[@]}" update -qq
  (cd .gpu/gl && apt-get "${apt_amd64[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  rm -rf "$lists"
fi

du -b .gpu/moepp-dist.tar.xz .gpu/node.xz .gpu/openblas.tar.xz .gpu/gl | awk '{ printf "%-28s %6.1f MiB\n", $2, $1 / 1048576 }'
du -cb .gpu | tail -1 | awk '{ printf "carry .gpu total %.1f MiB (limit 64 MiB with the working tree)\n", $1 / 1048576 }'
