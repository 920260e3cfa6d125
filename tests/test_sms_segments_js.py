"""static/omnidesk/sms-segments.js mirrors omnidesk/plugin_api/sms.py: node runs it over the same cases."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from omnidesk.plugin_api.sms import GSM7_BASIC, GSM7_EXTENSION, count

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "omnidesk" / "sms-segments.js"
CASES = [
    "", "Hallo", "a" * 160, "a" * 161, "a" * 306, "a" * 307, "€" * 80, "€" * 80 + "a", "a" * 159 + "{",
    "a" * 152 + "€" + "a" * 10, "a" * 153 + "€" * 4, "Ç é ü ß ΔΩ @£$¥ \n\r", "ç", "a" * 70 + "ë", "ë" * 70, "ë" * 71,
    "ë" * 134, "ë" * 135, "😀" * 35, "😀" * 35 + "a", "ë" * 66 + "😀" + "ë", "ë" * 66 + "😀" + "ë" * 5,
    "€😀", "Graag gedaan 🙂 en tot ziens, Zoë", "Café “De Gouden Leeuw”", "€ {} [] ~ | ^ \\ \x0c",
    "👨‍👩‍👧 familie", "\x1b escape is not a character", "a" * 1530, "ë" * 670, "\u2028", "x\ud83d",
]
RUNNER = """
require(process.argv[1]);
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({
  results: cases.map((text) => globalThis.OmnideskSms.count(text)),
  alphabet: globalThis.OmnideskSms.alphabet,
}));
"""


def run_node() -> dict:
    node = shutil.which("node")
    assert node, "node is needed to check the composer's counter"
    # ensure_ascii keeps lone surrogates representable; JSON.parse turns them back into the same UTF-16.
    completed = subprocess.run([node, "-e", RUNNER, str(SCRIPT)], input=json.dumps(CASES), capture_output=True,
                               text=True, check=True, timeout=30)
    return json.loads(completed.stdout)


def test_javascript_counts_like_python() -> None:
    output = run_node()
    for text, js in zip(CASES, output["results"], strict=True):
        py = count(text)
        assert js == {"encoding": py.encoding, "characters": py.characters, "units": py.units,
                      "segments": py.segments, "perSegment": py.per_segment, "remaining": py.remaining,
                      "ucs2Culprit": py.ucs2_culprit}, repr(text[:40])


def test_javascript_alphabet_is_the_codec_alphabet() -> None:
    alphabet = run_node()["alphabet"]
    assert set(alphabet["basic"]) == GSM7_BASIC and len(alphabet["basic"]) == len(GSM7_BASIC)
    assert set(alphabet["extension"]) == GSM7_EXTENSION and len(alphabet["extension"]) == len(GSM7_EXTENSION)
