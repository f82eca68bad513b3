"""Reference solutions of the course exercises (:mod:`trust_utils.exercises`); for teachers.

One module per notebook, named like its exercise module (``solutions.dpo`` answers ``exercises.dpo``), so that a
notebook's code hash covers only its own solution. Each function has the name and signature of its exercise stub.
The training-objective solutions are the project's own formulas (:mod:`trust_utils.losses`); the evaluation ones
follow the rules of the vertical modules (:mod:`trust_utils.verticals`), so a student who matches them computes what
the study reports (``tests/test_exercises.py`` checks both). A notebook run with ``solutions=True`` (or
``RLHF_TRUST_SOLUTIONS=1``) uses these in place of the stubs (``exercise.solution_or``).
"""
