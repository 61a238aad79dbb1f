"""Print the README's generated tables (settings, streams); `--check` compares them.

The settings table is `tap-ontraport --about --format=markdown`'s own; the streams table
comes from the object table in tap_ontraport/objects.py. `tests/unit/test_readme.py`
fails when the README drifts from either.

    python scripts/readme_tables.py            # print both tables
    python scripts/readme_tables.py --write    # rewrite them in README.md
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT))

from tap_ontraport.discovery import REPLICATION_KEY  # noqa: E402
from tap_ontraport.objects import KNOWN_OBJECTS  # noqa: E402


def settings_table() -> str:
    """The Settings table exactly as `--about --format=markdown` prints it."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_ontraport", "--about", "--format=markdown"],
        capture_output=True, text=True, check=True,
    ).stdout
    section = about.split("## Settings", 1)[1]
    lines = [line for line in section.strip().splitlines() if line.startswith("|")]
    return "\n".join(lines)


def streams_table() -> str:
    rows = [
        "| Stream | objectID | Endpoint | Primary key | Replication | Notes |",
        "|:-------|---------:|:---------|:------------|:------------|:------|",
    ]
    for obj in sorted(KNOWN_OBJECTS, key=lambda o: o.stream_name):
        if obj.append_only:
            replication = (f"INCREMENTAL (`{REPLICATION_KEY}` if meta or a record has it, "
                           f"else by `{obj.primary_key}`: append-only)")
        else:
            # Decided per account (discovery.py), the same way for every object.
            replication = f"INCREMENTAL if meta or a record has `{REPLICATION_KEY}`, else FULL_TABLE"
        endpoint = obj.collection_path + (f"?objectID={obj.object_id}" if obj.needs_object_id_param else "")
        rows.append(
            f"| `{obj.stream_name}` | {obj.object_id} | `{endpoint}` | `{obj.primary_key}` | {replication} "
            f"| {obj.notes} |"
        )
    return "\n".join(rows)


TABLES = {"settings": settings_table, "streams": streams_table}


def block(name: str, text: str) -> str:
    return f"<!-- {name}:start -->\n{text}\n<!-- {name}:end -->"


def current(readme: str, name: str) -> str | None:
    found = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", readme, re.S)
    return found.group(1) if found else None


def main() -> int:
    if "--write" in sys.argv:
        readme = README.read_text()
        for name, make in TABLES.items():
            readme = re.sub(rf"<!-- {name}:start -->\n.*?<!-- {name}:end -->",
                            lambda _m, n=name, f=make: block(n, f()), readme, flags=re.S)
        README.write_text(readme)
        return 0
    for name, make in TABLES.items():
        print(block(name, make()), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
