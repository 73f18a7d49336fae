"""Scoring stage: candidate sites' mineable MW, 0..1 suitability, exclusions, rank and stability.

::

    config      ScoringConfig: the [scoring] tables of a scenario, validated
    transforms  linear / inverse / logistic / step / gaussian -> 0..1
    score       measures -> s_<criterion>, score, excluded, rank (no geometry)
    allocate    shared interconnects: no MW counted twice, best score first
    stability   Monte Carlo over weights -> p_top_n
    flags       flexible_load, ai_convertible
    columns     the candidate_sites schema (registered in gis.schema)
    api         score_sites (pure), score_command (gis score)
"""

__all__: list[str] = []
