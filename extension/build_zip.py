"""Build the Chrome Web Store upload: extension/dist/mailbeacon-extension.zip.

    python3 extension/build_zip.py [--keep-key] [--output PATH]

Only what Chrome loads goes in (manifest.json, src/, _locales/, icons/); tests, tools and notes stay out. The
store assigns its own key and id to a new item and refuses a manifest that brings one, so the manifest's `key`
(which keeps the id stable for unpacked development builds) is left out, and the loopback hosts a development
build may reach without asking (a backend on this machine) become optional permissions, asked for at run time
like any other server. --keep-key builds the development manifest unchanged. The archive is reproducible: files
in sorted order with a fixed timestamp, so the same tree always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHIPPED = ("src", "_locales", "icons")
LOOPBACK_PREFIXES = ("http://127.0.0.1/", "http://localhost/")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def shipped_files() -> list[Path]:
    files = [path for folder in SHIPPED for path in (ROOT / folder).rglob("*") if path.is_file()]
    return sorted(path for path in files if not path.name.startswith(".") and "__pycache__" not in path.parts)


def manifest_bytes(keep_key: bool) -> bytes:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    if not keep_key:
        manifest.pop("key", None)
        hosts = manifest.get("host_permissions", [])
        loopback = [host for host in hosts if host.startswith(LOOPBACK_PREFIXES)]
        manifest["host_permissions"] = [host for host in hosts if host not in loopback]
        optional = manifest.setdefault("optional_host_permissions", [])
        optional.extend(host for host in loopback if host not in optional)
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build(output: Path, *, keep_key: bool = False) -> list[str]:
    output.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        entries = [("manifest.json", manifest_bytes(keep_key))]
        entries += [(path.relative_to(ROOT).as_posix(), path.read_bytes()) for path in shipped_files()]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "mailbeacon-extension.zip")
    parser.add_argument("--keep-key", action="store_true", help="keep the manifest key (not for the store)")
    args = parser.parse_args(argv)
    names = build(args.output, keep_key=args.keep_key)
    print(f"{args.output}: {len(names)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
