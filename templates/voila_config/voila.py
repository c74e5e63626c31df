# Voila configuration used by `workbench app`: stage notebooks open in view mode for a run.
from workbench.apps.hook import prelaunch_hook

c.VoilaConfiguration.prelaunch_hook = prelaunch_hook  # noqa: F821 - `c` is traitlets' config

# nbdime's JupyterLab extension needs JupyterLab's own modules and fails on an app page.
c.VoilaConfiguration.extension_denylist = ["nbdime-jupyterlab"]  # noqa: F821
