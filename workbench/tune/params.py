"""The parameters of the optional ``02_tune`` stage, declared once (see :mod:`workbench.params`).

They extend 02_train's: a trial trains what 02_train would, so the builder, features and
every training setting are declared by :class:`~workbench.train.params.TrainParams` and set
for both stages by one plain key in ``workbench.yaml`` (``parameters: {builder: dnn}``).
"""

from __future__ import annotations

from typing import Any

from workbench.params import param
from workbench.train.params import TrainParams

__all__ = ["TUNE", "TuneParams"]

#: the stage's name: optional, before 02_train
TUNE = "02_tune"


class TuneParams(TrainParams):
    STAGE = TUNE

    step: str = param(TUNE, "step name inside the run")
    algorithm: str = param("bayesian", "search algorithm (KerasTuner's oracles)",
                           choices=("bayesian", "random", "hyperband"))
    max_trials: int = param(10, "budget: at most this many trials (trial 0 trains 02_train's "
                            "own values)")
    max_minutes: float = param(30.0, "budget: no new trial after this many minutes")
    trial_epochs: int = param(0, "epochs per trial (hyperband: the most a trial trains); 0: "
                              "epochs")
    search_space: dict[str, Any] = param({}, 'change the builder\'s ranges, e.g. '
                                         '{"learning_rate": {"min": 0.0001, "max": 0.1, '
                                         '"log": true}, "dropout": null}')

    def check(self) -> None:
        super().check()
        if self.max_trials < 1:
            raise self.fail("max_trials", "a budget of zero trials searches nothing",
                            "set max_trials to 1 or more (10 is a small search)")
        if not self.max_minutes > 0:
            raise self.fail("max_minutes", "a budget of zero minutes searches nothing",
                            "set max_minutes above 0, e.g. max_minutes=30")
        if self.trial_epochs < 0:
            raise self.fail("trial_epochs", "must be 0 (02_train's epochs) or more",
                            "e.g. trial_epochs=2")
        if self.algorithm == "hyperband" and (self.trial_epochs or self.epochs) < 2:
            raise self.fail("trial_epochs", "hyperband needs at least 2 epochs per trial to "
                            "stop weak trials early", "set trial_epochs to 2 or more, or use "
                            "algorithm=random")

    def train_values(self) -> dict[str, Any]:
        """The values a trial hands 02_train's trainer (02_train's declaration only)."""
        names = TrainParams.parameters()
        return {k: v for k, v in self.values().items() if k in names}
