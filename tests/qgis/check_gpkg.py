"""Open every layer of a GeoPackage in PyQGIS and check how QGIS draws it (run by tests/test_qgis.py).

Run with the system Python that has PyQGIS (Debian: /usr/bin/python3 with python3-qgis), with
QT_QPA_PLATFORM=offscreen::

    python3 check_gpkg.py sites.gpkg out.png

Prints one JSON object on stdout: per layer, whether it is valid, its renderer type, whether the
default style from ``layer_styles`` was applied, how many features got no symbol, the legend
labels, the field aliases, and any GDAL/QGIS warning seen while opening; the PNG is a render of
all layers.
"""

from __future__ import annotations

import json
import os
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsExpressionContextUtils,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRectangle,
    QgsRenderContext,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main(path: str, png: str) -> int:
    app = QgsApplication([], False)
    app.initQgis()
    messages: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(
        lambda msg, tag, level: messages.append(f"{tag}: {msg}")
    )
    whole = QgsVectorLayer(path, "all", "ogr")
    names = [sub.split("!!::!!")[1] for sub in whole.dataProvider().subLayers()]
    report: dict = {"layers": {}, "qgis": Qgis.QGIS_VERSION}
    drawn = []
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        info: dict = {"valid": layer.isValid(), "features": layer.featureCount()}
        if layer.isValid() and layer.isSpatial():
            renderer = layer.renderer()
            info["renderer"] = renderer.type()
            info["styles_in_db"] = layer.listStylesInDatabase()[0]
            ctx = QgsRenderContext()
            ctx.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
            renderer.startRender(ctx, layer.fields())
            missing = 0
            colours: dict[str, int] = {}
            for feature in layer.getFeatures():
                ctx.expressionContext().setFeature(feature)
                symbol = renderer.symbolForFeature(feature, ctx)
                if symbol is None:
                    missing += 1
                else:
                    key = symbol.color().name()
                    colours[key] = colours.get(key, 0) + 1
            renderer.stopRender(ctx)
            info["without_symbol"] = missing
            info["colours"] = colours
            info["legend"] = [item.label() for item in renderer.legendSymbolItems()]
            drawn.append(layer)
        info["aliases"] = {f.name(): f.alias() for f in layer.fields() if f.alias()}
        report["layers"][name] = info
    settings = QgsMapSettings()
    order = sorted(drawn, key=lambda lyr: {"states": 9, "state_summary": 8}.get(lyr.name(), 0))
    settings.setLayers(order)
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setOutputSize(QSize(1400, 900))
    settings.setExtent(QgsRectangle(-125.0, 24.0, -66.5, 49.5))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png, "png")
    report["messages"] = messages
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    # QGIS 3.22 may crash while tearing down (exitQgis) offscreen; the report is written by then
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
