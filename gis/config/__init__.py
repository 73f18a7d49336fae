"""Configuration: every stage's typed settings, the scenario, the data catalog and the environment.

This package imports nothing else from :mod:`gis` but :mod:`gis.errors` (an import contract in
``pyproject.toml`` checks it), so every stage may read it and none of it reads a stage:

- :mod:`gis.config.scenario`  the scenario file, validated whole (``load_scenario``);
- :mod:`gis.config.scoring`   ``[scoring]``: site models, measures, weights, exclusions, flags;
- :mod:`gis.config.energy`    ``[energy]``: market nodes, the wasted-energy model per category;
- :mod:`gis.config.estimates` ``[estimates]``: ASICs, network, prices, costs, uncertainty;
- :mod:`gis.config.explorer`  ``[explorer]``: the axes of the what-if explorer;
- :mod:`gis.config.asics`     the cited ASIC catalogue;
- :mod:`gis.config.catalog`   the data catalog (``layers/*.toml``): files, URLs, column mappings;
- :mod:`gis.config.settings`  the environment: every ``GIS_*`` variable is read there and only there;
- :mod:`gis.config.vocabulary` site categories, owner classes, fuels, plant statuses.

``gis/scenarios/default.toml`` is the only source of default values: models either carry no default
or one equal to it (``tests/test_config_defaults.py``).
"""

from gis.config.scenario import DEFAULT_SCENARIO, Scenario, load_estimates_config, load_scenario

__all__ = ["DEFAULT_SCENARIO", "Scenario", "load_estimates_config", "load_scenario"]
