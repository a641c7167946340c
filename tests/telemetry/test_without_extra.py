"""satnogs-decoders is optional (AGPL-3.0): importing groundshare.telemetry never loads it, and without it
every call says what to install.

Each test runs a fresh interpreter, the only way to see what an import loads; the extra's absence is
simulated with ``sys.modules['satnogsdecoders'] = None``, which makes both ``find_spec`` and ``import``
report it missing.
"""

from __future__ import annotations

import json
import subprocess
import sys

from groundshare.extras import install_command


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_telemetry_does_not_import_satnogs_decoders() -> None:
    loaded = _run("import sys, json\n"
                  "import groundshare.telemetry\n"
                  "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
                  "{'satnogsdecoders', 'kaitaistruct'})))")
    assert loaded == []


SIMULATED_ABSENCE = """
import json, sys
sys.modules['satnogsdecoders'] = None
from groundshare.extras import MissingExtraError
from groundshare import telemetry

out = {'installed': telemetry.decoders_installed()}
for call in ('decoder_names()', "check_decoder_name('painani')"):
    try:
        eval('telemetry.' + call)
        out[call] = 'no error'
    except MissingExtraError as exc:
        out[call] = str(exc)
result = telemetry.decode('painani', b'\\x00' * 30)
out['decode'] = {'fields': result.fields, 'error': result.error, 'version': result.version,
                 'decoder': result.decoder}
print(json.dumps(out))
"""


def test_without_the_extra_every_call_names_the_install_command() -> None:
    out = _run(SIMULATED_ABSENCE)
    install = install_command("decoders")
    assert install == "pip install 'groundshare[decoders]'"
    assert out["installed"] is False
    assert install in out["decoder_names()"]
    assert install in out["check_decoder_name('painani')"]
    # decode() does not raise: the frame is kept undecoded, and its error says how to decode it.
    assert out["decode"]["fields"] == {}
    assert install in out["decode"]["error"]
    assert out["decode"]["decoder"] == "painani"
    assert out["decode"]["version"] == ""
