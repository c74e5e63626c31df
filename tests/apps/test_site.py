"""The site's command, navigation and page-run rules, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.apps.page import PageProblem, page_run
from workbench.apps.site import APPS, apps_root, nav_template, site_command
from workbench.errors import ConfigError
from workbench.project import Project

TEMPLATE = Path(__file__).resolve().parents[2] / "templates/voila/templates/workbench"


def test_nav_template_is_generated_from_the_app_list():
    assert (TEMPLATE / "nav.html.j2").read_text() == nav_template(), (
        "regenerate templates/voila/templates/workbench/nav.html.j2 from "
        "workbench.apps.site.nav_template()")


def test_every_app_has_its_notebook_and_only_apps_are_served():
    for app in APPS:
        assert (apps_root() / app.notebook).is_file(), app
    assert (apps_root() / "stage.ipynb").is_file()
    # a preheated kernel runs a notebook before any request: no stage notebook may be there
    assert not list(apps_root().glob("0*_*.ipynb"))


def test_local_by_default_without_token(project: Path):
    cmd = site_command(project=Project.load(project))
    assert "--Voila.ip=127.0.0.1" in cmd.argv and cmd.token is None
    assert "--VoilaConfiguration.preheat_kernel=True" in cmd.argv
    assert cmd.url == "http://127.0.0.1:8866/"


def test_team_host_requires_a_token(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("WORKBENCH_APPS_TOKEN", raising=False)
    cmd = site_command(host="0.0.0.0", project=Project.load(project))
    assert cmd.token and len(cmd.token) >= 16
    assert f"--Voila.token={cmd.token}" in cmd.argv and f"?token={cmd.token}" in cmd.url
    with pytest.raises(ConfigError, match="shorter than 16"):
        site_command(host="0.0.0.0", token="abc", project=Project.load(project))


def test_pages_without_runs_say_what_to_do(project: Path):
    with pytest.raises(PageProblem, match="no runs yet") as err:
        page_run("", Project.load(project))
    assert "make demo" in err.value.html()
    with pytest.raises(PageProblem, match="no run 'nope'") as err:
        page_run("run=nope", Project.load(project))
    assert "runs.ipynb" in err.value.html()
