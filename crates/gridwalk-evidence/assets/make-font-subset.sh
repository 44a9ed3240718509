#!/usr/bin/env bash
# Regenerates NotoSansSC-Bold-gb2312.otf: Noto Sans CJK SC Bold (Debian fonts-noto-cjk)
# subset to GB2312 (all 6763 hanzi + GB2312 symbols) + printable ASCII + common punctuation.
# Needs: apt-get install -y fonts-noto-cjk ; pip install fonttools==4.68.0
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${NOTO_CJK_TTC:-/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc}"
out="$here/NotoSansSC-Bold-gb2312.otf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$src" "$work" <<'PY'
import sys
from fontTools.ttLib import TTCollection
src, work = sys.argv[1], sys.argv[2]
# Locate "Noto Sans CJK SC" (not the Mono variant) inside the collection.
idx = None
for i, f in enumerate(TTCollection(src).fonts):
    name = f["name"].getDebugName(4) or ""
    if name.startswith("Noto Sans CJK SC"):
        idx = i
        break
if idx is None:
    sys.exit("Noto Sans CJK SC not found in " + src)
open(f"{work}/index", "w").write(str(idx))

# Every character encodable in GB2312 (EUC-CN rows 0xA1-0xF7, cells 0xA1-0xFE):
# 6763 hanzi + 682 symbols (full-width forms, CJK punctuation, Greek, Cyrillic...).
chars = set()
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
chars.update(chr(c) for c in range(0x20, 0x7F))           # printable ASCII
chars.update("°±×÷·—–‘’“”…‰′″℃№←↑→↓≤≥≈≠∞√、。〈〉《》「」『』【】〔〕〖〗・")
chars.update(chr(c) for c in range(0x3000, 0x3020))       # CJK symbols & punctuation
chars.update(chr(c) for c in range(0xFF01, 0xFF5F))       # full-width ASCII
hanzi = sum(1 for c in chars if 0x4E00 <= ord(c) <= 0x9FFF)
print(f"{len(chars)} code points, {hanzi} hanzi", file=sys.stderr)
open(f"{work}/chars.txt", "w", encoding="utf-8").write("".join(sorted(chars)))
PY

pyftsubset "$src" \
  --font-number="$(cat "$work/index")" \
  --text-file="$work/chars.txt" \
  --layout-features='' --no-layout-closure \
  --no-hinting \
  --name-IDs='*' --name-legacy --name-languages='*' \
  --notdef-outline \
  --output-file="$out"
ls -l "$out"
sha256sum "$out"
