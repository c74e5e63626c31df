"""Reviews of runs and notebooks: what changed between two runs (:mod:`.rundiff`), nbdime diffs
of their executed notebooks (:mod:`.nbdiff`), and notebooks in git (:mod:`.git`)."""
