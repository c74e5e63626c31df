"""``workbench apps``: every app and every stage view from one Voila server.

Voila serves the ``notebooks/apps/`` folder: home, overview, model card, try the model, data
quality, serving monitor, runs, and ``stage.ipynb``, through which the six stage notebooks are
shown (views for engineers). The apps run in *preheated* kernels (Voila's ``preheat_kernel``): a
kernel per app is started ahead of time and executes the app up to the point where it needs
the page's query (``voila.utils.get_query_string()``), so TensorFlow and the run store are
already imported when someone opens the page. Voila refuses a pre-launch hook with preheated
kernels, so the stage notebooks are shown through one more app, ``apps/stage.ipynb?stage=…``,
which runs the stage's cells in view mode in its preheated kernel
(:mod:`workbench.apps.stage_view`).

``/`` redirects to the home app (the workbench template's tree page); every page carries the
navigation bar (the template) and the run in ``?run=``.

Bound to 127.0.0.1. ``--host`` for a team server requires a token: every visitor opens the
URL with ``?token=…`` once (Jupyter server's token login, which sets a cookie).
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ConfigError
from workbench.project import Project

__all__ = ["APPS", "STAGE_VIEWS", "App", "SiteCommand", "app_url", "site_command"]

LOCAL = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "WORKBENCH_APPS_TOKEN"


@dataclass(frozen=True)
class App:
    name: str
    title: str
    notebook: str  # relative to the served folder, notebooks/apps
    blurb: str


APPS = (
    App("home", "Home", "home.ipynb", "Start here: what each page answers."),
    App("overview", "Overview", "overview.ipynb",
        "Which model is live, how good it is in plain words, how the latest runs went, and "
        "what awaits approval."),
    App("model_card", "Model card", "model_card.ipynb",
        "What the model is for and not for, how well it works overall and for each group, "
        "the decision threshold, and where it came from (who approved it, when). Exports as "
        "HTML, Markdown and Model Card Toolkit JSON."),
    App("try", "Try the model", "try.ipynb",
        "Fill in a case and see the model's answer, how it would change, and why; score a "
        "CSV file."),
    App("data_quality", "Data quality", "data_quality.ipynb",
        "Problems found in the data, drift over the last runs, two runs side by side."),
    App("serving", "Serving", "serving.ipynb",
        "The deployed versions, requests per second, latency and errors, live."),
    App("runs", "Runs", "runs.ipynb",
        "Every pipeline run: its state, where it stopped and why."),
)

STAGE_VIEWS = (
    # 02_tune and 07_bulk_inference are optional (run --with, or listed in workbench.yaml)
    ("01_data_validation", "01 data"), ("02_tune", "02 tune"), ("02_train", "02 train"),
    ("03_evaluate", "03 evaluate"), ("04_export", "04 export"),
    ("07_bulk_inference", "07 bulk inference"), ("05_tflite", "05 TFLite"),
    ("06_serving", "06 serving"),
)


def apps_root() -> Path:
    """The served folder. Only apps live there: a stage notebook is never preheated (a
    preheated kernel runs the notebook before any request, which would compute)."""
    from importlib import resources

    return Path(str(resources.files("workbench.notebooks"))) / "apps"


STAGE_APP = "stage.ipynb"


def app_url(name: str, run: str | None = None, base: str = "/") -> str:
    """The path of an app (or a stage's view) on the site, with the run in ``?run=``."""
    app = next((a for a in APPS if a.name == name), None)
    args = [] if app else [f"stage={name}"]
    if run:
        args.append(f"run={run}")
    query = ("?" + "&".join(args)) if args else ""
    return f"{base}voila/render/{app.notebook if app else STAGE_APP}{query}"


def nav_links() -> list[dict[str, str]]:
    """The navigation bar (the template draws it; the page's ?run= is added in the page)."""
    links = [{"title": a.title, "href": app_url(a.name), "group": "apps"}
             for a in APPS]
    links += [{"title": title, "href": app_url(stage), "group": "stages"}
              for stage, title in STAGE_VIEWS]
    return links


@dataclass
class SiteCommand:
    argv: list[str]
    env: dict[str, str]
    url: str
    token: str | None = None


def site_command(*, port: int = 8866, host: str = "127.0.0.1", token: str | None = None,
                 project: Project | None = None, pool_size: int = 1) -> SiteCommand:
    """The Voila command line of the site. ``host`` other than 127.0.0.1 needs a token (given,
    from $WORKBENCH_APPS_TOKEN, or generated)."""
    from workbench.apps import voila_env

    project = project or Project.find()
    if pool_size < 0:
        raise ConfigError(f"pool size {pool_size}: must be 0 (no preheated kernels) or more",
                          hint="use --pool-size 1")
    local = host in LOCAL
    token = token or os.environ.get(TOKEN_ENV) or None
    if not local and not token:
        token = secrets.token_urlsafe(24)
    if token is not None and len(token) < 16:
        raise ConfigError("the apps token is shorter than 16 characters",
                          hint=f"use a long random token (or leave --token out and "
                               f"${TOKEN_ENV} unset: one is generated)")
    env = voila_env(project)
    env["WORKBENCH_SITE"] = "1"
    argv = [
        sys.executable, "-m", "voila", str(apps_root()),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--template=workbench",
        "--theme=light",
        # not the config of `workbench app` (its pre-launch hook excludes preheated kernels)
        f"--Voila.config_file_paths={apps_root()}",  # holds no voila.py: no user config
        "--VoilaConfiguration.extension_denylist=nbdime-jupyterlab",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={pool_size}",
        "--VoilaKernelManager.fill_delay=0.5",
        # a page's kernel ends when the page closes; one whose page vanished is culled
        "--MappingKernelManager.cull_idle_timeout=1800",
        "--MappingKernelManager.cull_interval=120",
    ]
    if token:
        argv.append(f"--Voila.token={token}")
    shown = "127.0.0.1" if local else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    return SiteCommand(argv, env, url, token)


def serve_site(cmd: SiteCommand) -> int:
    from workbench.apps import run_foreground

    return run_foreground(cmd.argv, cmd.env)


def nav_template() -> str:
    """The source of the template's ``nav.html.j2`` (kept in step by a test)."""
    head = ("{#- The site navigation bar (workbench apps). Generated by "
            "workbench.apps.site.nav_template();\n"
            "    tests/apps/test_site.py keeps it in step. Shown only on the site "
            "(/voila/render/...); the\n"
            "    page's ?run= is added to every link so the chosen run goes from page to page. "
            "-#}\n")

    def link(item: dict[str, str]) -> str:
        return f'    <a href="{{{{ base_url }}}}{item["href"].lstrip("/")}">{item["title"]}</a>\n'

    links = nav_links()
    return (head + '<nav id="wb-nav" aria-label="Workbench apps" style="display:none">\n'
            '  <span class="wb-nav-apps">\n'
            + "".join(link(x) for x in links if x["group"] == "apps")
            + '  </span>\n  <span class="wb-nav-stages" title="stage views, for engineers">'
              "stages:\n"
            + "".join(link(x) for x in links if x["group"] == "stages")
            + '  </span>\n  <span id="wb-nav-run"></span>\n</nav>\n')
