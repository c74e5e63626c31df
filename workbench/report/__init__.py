"""Run reports: one self-contained HTML file of a run (:mod:`.build`), its cover (:mod:`.cover`)
and its PDF (:mod:`.pdf`)."""
