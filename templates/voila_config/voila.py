# Voila configuration used by `workbench app`: stage notebooks open in view mode for a run.
from workbench.apps.hook import prelaunch_hook

c.VoilaConfiguration.prelaunch_hook = prelaunch_hook  # noqa: F821 - `c` is traitlets' config
