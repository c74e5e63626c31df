"""TF Workbench: a TensorFlow model's production lifecycle as parameterized notebooks.

The package is the library every stage notebook calls; it imports no Jupyter UI package (the
widgets live in :mod:`workbench.widgets`). Importing it installs a hook that keeps TensorFlow's
native start-up noise out of notebooks, CLI output and app pages (see :mod:`workbench._quiet`).
"""

from workbench import _quiet

_quiet.install()

from workbench.errors import GateFailed, WorkbenchError  # noqa: E402
from workbench.project import Project  # noqa: E402
from workbench.runs.step import Step, open_step  # noqa: E402
from workbench.runs.store import Run, RunStore  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "GateFailed",
    "Project",
    "Run",
    "RunStore",
    "Step",
    "WorkbenchError",
    "__version__",
    "open_step",
    "predict",
]


def __getattr__(name: str):  # noqa: ANN202 - module attribute hook
    # ``workbench.predict`` (bulk inference) is imported on first use: ``import workbench``
    # stays light
    if name == "predict":
        from workbench.bulk import predict

        return predict
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
