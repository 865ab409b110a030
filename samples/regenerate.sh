#!/usr/bin/env bash
# Regenerate the sample outputs in samples/ from the demo video: `bash samples/regenerate.sh`
# (runs `mocap demo --hands`, then keeps the BVH files, the report and one preview frame).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mocap demo -o "$work/demo" --hands --quiet
rm -f "$here"/person_*.bvh
cp "$work"/demo/person_*.bvh "$work/demo/report.json" "$work/demo/report.html" "$here/"
python - "$work/demo/preview.mp4" "$here/preview_frame120.jpg" <<'PY'
import sys

import cv2

cap = cv2.VideoCapture(sys.argv[1])
cap.set(cv2.CAP_PROP_POS_FRAMES, 120)
ok, frame = cap.read()
assert ok, "cannot read frame 120 of the preview"
cv2.imwrite(sys.argv[2], cv2.resize(frame, (884, 497)), [cv2.IMWRITE_JPEG_QUALITY, 85])
PY
echo "samples regenerated in $here"
