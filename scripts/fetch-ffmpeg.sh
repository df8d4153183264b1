#!/usr/bin/env bash
# Fetches the bundled ffmpeg (a static FFmpeg 9.0.2 with libx264, libvmaf and zimg, from the PyPI wheel
# imageio-ffmpeg 0.8.1) for one architecture and checks it against pinned checksums.
# Usage: scripts/fetch-ffmpeg.sh [x86_64|aarch64] [DEST]   (defaults: this machine, .tools/ffmpeg/<arch>)
# Prints DEST. Idempotent: a DEST whose binary matches the checksum is left as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-$(uname -m)}
case "$arch" in
  x86_64|amd64)
    arch=x86_64
    wheel_sha=050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda
    ffmpeg_sha=0d709a0bed1a43f24cd2c420878c63afea4580671b6949ad19ed124572f3bc3d ;;
  aarch64|arm64)
    arch=aarch64
    wheel_sha=fad3176f859b25869e60a8ed79957d4e3ed74a97a95e5f0cdcb91455f6c6d00e
    ffmpeg_sha=0b0b5ac30495b4e07ce1321b8d58200f901f57782884a8b6b264c7528c2c9e77 ;;
  *) echo "fetch-ffmpeg: unsupported architecture '$arch' (x86_64 or aarch64)" >&2; exit 1 ;;
esac
dest=${2:-$here/.tools/ffmpeg/$arch}
ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
if ok "$dest/ffmpeg" "$ffmpeg_sha"; then echo "$dest"; exit 0; fi

echo "Fetching the bundled ffmpeg for $arch (about 65 MB, once)..." >&2
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
install -m 0755 "$work/ffmpeg" "$dest/ffmpeg"
echo "$dest"
