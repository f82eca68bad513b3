"""The five trustworthiness verticals (toxicity, bias, ethics, truthfulness, privacy).

Each module ``trust_utils.verticals.<name>`` has a config dataclass extending
:class:`~trust_utils.verticals.common.VerticalConfig`, a loader returning ``(items, malformed)`` and
``run(cfg)``, which evaluates every checkpoint of the run through the shared engine
(:mod:`trust_utils.generation`) and writes ``results/<name>.csv`` plus per-example records.
"""
