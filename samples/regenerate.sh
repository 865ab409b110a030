#!/usr/bin/env bash
# Regenerate samples/ with exactly the README's quick-start command, `mocap demo` (run in an
# empty folder, so it writes ./mocap-demo/ as it does for a user), then keep every file it
# wrote except preview.mp4, of which one frame is kept: `bash samples/regenerate.sh`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && mocap demo) 2>&1 | tee "$work/demo-output.txt"
rm -f "$here"/person_*.bvh "$here"/person_*.json
for f in "$work"/mocap-demo/*; do
  case "$(basename "$f")" in
    preview.mp4) ;;
    *) cp "$f" "$here/" ;;
  esac
done
python - "$work/mocap-demo/preview.mp4" "$here/preview_frame120.jpg" <<'PY'
import sys

import cv2

cap = cv2.VideoCapture(sys.argv[1])
cap.set(cv2.CAP_PROP_POS_FRAMES, 120)
ok, frame = cap.read()
assert ok, "cannot read frame 120 of the preview"
cv2.imwrite(sys.argv[2], cv2.resize(frame, (884, 497)), [cv2.IMWRITE_JPEG_QUALITY, 85])
PY
# what the command printed, less the two lines naming this script's temporary folder
grep -v "^Done: \|^  open " "$work/demo-output.txt" > "$here/demo-output.txt"
echo "samples regenerated in $here"
