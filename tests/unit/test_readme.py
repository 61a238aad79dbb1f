"""The README's settings and streams tables match the tap itself."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_tables)


def test_settings_table_is_the_one_about_prints():
    readme = (ROOT / "README.md").read_text()
    assert readme_tables.current(readme, "settings") == readme_tables.settings_table()
    assert "| api_key | True | None |" in readme_tables.settings_table()


def test_streams_table_is_the_object_table():
    readme = (ROOT / "README.md").read_text()
    assert readme_tables.current(readme, "streams") == readme_tables.streams_table()
    assert "| `forms` | 122 | `/Forms` | `form_id` |" in readme
