"""`atrium branding` commands."""
import json
import shutil
import zipfile
from pathlib import Path

from click.testing import CliRunner

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(env, *args):
    from app.db import db
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    if db.obj is not None and not db.is_closed():
        db.close()
    return result


def test_branding_commands(tmp_path):
    env = {"ATRIUM_DATA_DIR": str(tmp_path / "data")}
    run(env, "init")
    run(env, "tenant", "create", "acme", "--name", "Acme")
    check = run(env, "branding", "check", str(ROOT / "branding" / "sunrise"), "--json")
    assert check.exit_code == 0 and json.loads(check.output)["valid"] is True

    bad = tmp_path / "bad"
    shutil.copytree(ROOT / "branding" / "default", bad)
    toml = bad / "brand.toml"
    toml.write_text(toml.read_text().replace('primary = "#1f6feb"', 'primary = "red;}</style>"', 1))
    refused = run(env, "branding", "check", str(bad), "--json")
    assert refused.exit_code == 2
    assert json.loads(refused.output)["errors"][0]["field"] == "colors.primary"
    refused = run(env, "branding", "apply", "acme", str(bad))
    assert refused.exit_code == 2 and "colors.primary" in refused.output and "nothing changed" in refused.output
    assert "no brand versions" in run(env, "branding", "versions", "acme").output

    assert run(env, "branding", "apply", "acme", str(ROOT / "branding" / "sunrise")).exit_code == 0
    out = tmp_path / "acme.zip"
    assert run(env, "branding", "export", "acme", str(out)).exit_code == 0
    assert "brand.toml" in zipfile.ZipFile(out).namelist()
    assert run(env, "branding", "apply", "acme", str(ROOT / "branding" / "sakura")).exit_code == 0
    assert run(env, "branding", "apply", "acme", str(out)).exit_code == 0          # a zip applies too
    versions = json.loads(run(env, "branding", "versions", "acme", "--json").output)
    assert [v["version"] for v in versions] == [3, 2, 1] and versions[0]["current"]
    assert run(env, "branding", "rollback", "acme", "2").exit_code == 0
    assert run(env, "branding", "rollback", "acme", "42").exit_code == 1
    assert run(env, "branding", "apply", "nosuch", str(out)).exit_code == 1
    assert run(env, "branding", "check", str(tmp_path / "missing")).exit_code == 2
