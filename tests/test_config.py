"""Settings layering and the errors an operator sees for bad configuration."""
import pytest

from app.config import ConfigError, describe, load_settings


def write(tmp_path, text):
    path = tmp_path / "atrium.toml"
    path.write_text(text)
    return str(path)


def test_defaults_then_file_then_environment_then_mapping(tmp_path):
    path = write(tmp_path, 'data_dir = "/srv/a"\nlog_level = "debug"\n[serve]\nworkers = 3\n')
    env = {"ATRIUM_CONFIG": path, "ATRIUM_SERVE__WORKERS": "5", "ATRIUM_LOG_LEVEL": "warning"}
    settings = load_settings({"log_level": "ERROR"}, environ=env)
    assert settings.data_dir == "/srv/a"          # file over default
    assert settings.serve.workers == 5             # environment over file
    assert settings.log_level == "ERROR"           # test mapping over environment
    assert settings.serve.threads == 8             # default kept
    assert settings.database == "sqlite:////srv/a/atrium.db"


def test_database_url_from_conventional_variable():
    settings = load_settings(environ={"DATABASE_URL": "postgresql://u:p@db.example/atrium"})
    assert settings.database == "postgresql://u:p@db.example/atrium"


@pytest.mark.parametrize("text, expected", [
    ('datadir = "/x"', "unknown key 'datadir' (did you mean 'data_dir'?)"),
    ('[serve]\nworkerz = 2', "unknown key 'serve.workerz' (did you mean 'serve.workers'?)"),
    ('session_lifetime_hours = "long"', "session_lifetime_hours: expected a whole number"),
    ('secure_cookies = "yes"', "secure_cookies: expected true or false"),
    ('serve = 3', "serve: expected a table of settings"),
    ('data_dir = ', "not valid TOML"),
    ('default_locale = "fr"', "default_locale must be one of zh_Hans, en"),
    ('default_timezone = "Mars/Olympus"', "is not a known time zone"),
    ('database_url = "mysql://x"', "database_url must start with"),
    ('session_lifetime_hours = 0', "session_lifetime_hours must be at least 1"),
])
def test_bad_config_file_names_file_key_and_problem(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"ATRIUM_CONFIG": path})
    assert expected in str(info.value)
    assert str(info.value).startswith(path)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(environ={"ATRIUM_CONFIG": "/nonexistent/atrium.toml"})


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"environment: serve.workers: expected a whole number"):
        load_settings(environ={"ATRIUM_SERVE__WORKERS": "many"})
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_settings(environ={"ATRIUM_COLOUR": "blue"})


def test_every_key_is_documented():
    rows = describe()
    assert ("serve.bind", "'127.0.0.1:8000'", "address gunicorn listens on") in rows
    assert all(doc for _, _, doc in rows)


def test_cli_exits_2_on_malformed_config(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from app.cli import main

    path = write(tmp_path, '[login]\nmax_failures = "five"\n')
    monkeypatch.setenv("ATRIUM_CONFIG", path)
    for args in (["init"], ["config", "check"], ["serve"], ["tenant", "list"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, args
        assert f"error: {path}: login.max_failures: expected a whole number" in result.output
