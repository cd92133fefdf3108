"""What a piece of code leaves imported, seen from a fresh interpreter: the checks that
declarations, compiling and the CLI stay free of the heavy libraries."""
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def modules_imported_by(code: str, packages: Iterable[str]) -> list[str]:
    """Run ``code`` in a new Python process; the modules of ``packages`` (top-level names, or
    dotted prefixes such as ``google.protobuf``) it has imported by its end, sorted."""
    wanted = sorted(set(packages))
    probe = (f"{code}\n"
             "import json as _json, sys as _sys\n"
             f"print(_json.dumps(sorted(m for m in _sys.modules if any("
             f"m == p or m.startswith(p + '.') for p in {wanted!r}))))\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded
