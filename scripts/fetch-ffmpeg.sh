#!/usr/bin/env bash
# Fetches the bundled ffmpeg and ffprobe (static builds) for one architecture and checks them against pinned checksums.
#   ffmpeg 9.0.2 (libx264, libvmaf, zimg ...) from the PyPI wheel imageio-ffmpeg 0.8.1
#   ffprobe 5.2 (static, 2023) from the npm package @ffprobe-installer/linux-<arch> 5.2.0
# Usage: scripts/fetch-ffmpeg.sh [x86_64|aarch64] [DEST]   (defaults: this machine, .tools/ffmpeg/<arch>)
# Prints DEST. Idempotent: a DEST whose binaries match the checksums is left as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-$(uname -m)}
case "$arch" in
  x86_64|amd64)
    arch=x86_64; npm_arch=x64
    wheel_sha=050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda
    ffmpeg_sha=0d709a0bed1a43f24cd2c420878c63afea4580671b6949ad19ed124572f3bc3d
    tgz_sha=8b6b2e34bad5ea7cfbe1914185145f514f620f24203a1a421e8d00a698bf8e61
    ffprobe_sha=576c21674291ec1948d507ea8ab0d78eb6621a0be8c6f1a6db0f50c5fcb1e0f9 ;;
  aarch64|arm64)
    arch=aarch64; npm_arch=arm64
    wheel_sha=fad3176f859b25869e60a8ed79957d4e3ed74a97a95e5f0cdcb91455f6c6d00e
    ffmpeg_sha=0b0b5ac30495b4e07ce1321b8d58200f901f57782884a8b6b264c7528c2c9e77
    tgz_sha=369ec8159c5a347e460fe5e2cc9a7e3ed9c53acecb8f29e2a6491e756103c060
    ffprobe_sha=9b63a1715f87c0c476dacf237a4adcb0bf26de29854b137dae4e79f69a98b624 ;;
  *) echo "fetch-ffmpeg: unsupported architecture '$arch' (x86_64 or aarch64)" >&2; exit 1 ;;
esac
dest=${2:-$here/.tools/ffmpeg/$arch}
ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
if ok "$dest/ffmpeg" "$ffmpeg_sha" && ok "$dest/ffprobe" "$ffprobe_sha"; then echo "$dest"; exit 0; fi

echo "Fetching the bundled ffmpeg and ffprobe for $arch (about 140 MB, once)..." >&2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform "manylinux_2_28_$arch" imageio-ffmpeg==0.8.1 -d "$work" >&2
wheel=$(ls "$work"/imageio_ffmpeg-0.8.1-*.whl)
ok "$wheel" "$wheel_sha" || { echo "fetch-ffmpeg: checksum mismatch for $(basename "$wheel")" >&2; exit 1; }
python3 - "$wheel" "$work" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.startswith("imageio_ffmpeg/binaries/ffmpeg-linux-"))
    with z.open(name) as src, open(sys.argv[2] + "/ffmpeg", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
ok "$work/ffmpeg" "$ffmpeg_sha" || { echo "fetch-ffmpeg: checksum mismatch for ffmpeg" >&2; exit 1; }
(cd "$work" && npm pack --silent "@ffprobe-installer/linux-$npm_arch@5.2.0" >/dev/null 2>&1)
tgz=$(ls "$work"/ffprobe-installer-linux-$npm_arch-5.2.0.tgz)
ok "$tgz" "$tgz_sha" || { echo "fetch-ffmpeg: checksum mismatch for $(basename "$tgz")" >&2; exit 1; }
tar -xzf "$tgz" -C "$work" package/ffprobe
ok "$work/package/ffprobe" "$ffprobe_sha" || { echo "fetch-ffmpeg: checksum mismatch for ffprobe" >&2; exit 1; }
install -m 0755 "$work/ffmpeg" "$dest/ffmpeg"
install -m 0755 "$work/package/ffprobe" "$dest/ffprobe"
echo "$dest"
