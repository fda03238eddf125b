"""Compile the line parser with mypyc (optional: the pure-Python modules stay the default and the reference).

    make compile            # = pip install mypy (the compile extra) + this script

Copies the parser's modules into a scratch folder, compiles them there with mypyc and puts the extension
modules in songnodes_assets/lib/parsing/_compiled/ (or --out) with a manifest of the sources' SHA-256.
songnodes_assets/lib/parsing/__init__.py loads them only while every source still matches the manifest and
the interpreter is the one they were built for, so an edited .py is never shadowed by a stale build.
SONGNODES_COMPILED_PARSER=0 turns them off.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from songnodes_assets.lib.parsing import compiled

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=compiled.DEFAULT_DIR)
    args = ap.parse_args()
    try:
        import mypyc  # noqa: F401
    except ImportError:
        print("mypyc is not installed: `make compile` installs it (pip install -e '.[compile]')", file=sys.stderr)
        return 2
    package = ROOT / "songnodes_assets" / "lib" / "parsing"
    with tempfile.TemporaryDirectory(prefix="songnodes-mypyc-") as tmp:
        work = Path(tmp)
        target = work / "songnodes_assets" / "lib" / "parsing"
        target.mkdir(parents=True)
        for init in ("songnodes_assets/__init__.py", "songnodes_assets/lib/__init__.py",
                     "songnodes_assets/lib/parsing/__init__.py"):
            (work / init).write_text("")
        shutil.copy(ROOT / "songnodes_assets" / "lib" / "ids.py", work / "songnodes_assets" / "lib" / "ids.py")
        sources = [target / name for name in compiled.MODULES]
        for name in compiled.MODULES:
            shutil.copy(package / name, target / name)
        done = subprocess.run([sys.executable, "-m", "mypyc", *[str(s.relative_to(work)) for s in sources]],
                              cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            print("mypyc failed; the pure-Python parser stays in use", file=sys.stderr)
            return 1
        built = sorted(target.glob("*.so")) + sorted(work.glob("*__mypyc*.so"))
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        for so in built:
            shutil.copy(so, args.out / so.name)
    compiled.write_manifest(args.out, package)
    print(f"compiled {len(compiled.MODULES)} modules into {args.out} ({len(built)} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
