"""Headless check of the lode QGIS Processing provider (Debian's python3-qgis, QGIS 3.22).

Registers the provider from qgis/ (as QGIS would from the plugin zip), runs its Run,
Validate, Weights table and Redraw targets algorithms through processing.run with the
lode binary in $LODE_BIN, loads the outputs styled as the plugin does, renders them to
an image and prints JSON: algorithms, renderer types, class counts, log lines seen,
the rendered image's distinct colours. Run with QT_QPA_PLATFORM=offscreen.
Usage: qgis_check.py REPO_ROOT CONFIG EVIDENCE_TIF DEPOSITS WORK_DIR
"""
import json
import os
import sys

repo, config, evidence, deposits, work = sys.argv[1:6]
# The plugin as users install it: the zip `make` builds, which must hold the sources of
# qgis/lode_provider as they are now.
import zipfile  # noqa: E402

plugin_zip = os.path.join(repo, "target", "lode_provider.zip")
if not os.path.exists(plugin_zip):
    sys.exit(f"{plugin_zip} is missing: run `make qgis-plugin` (make test does)")
with zipfile.ZipFile(plugin_zip) as z:
    packed = {n: z.read(n) for n in z.namelist()}
src_dir = os.path.join(repo, "qgis", "lode_provider")
sources = {}
for n in os.listdir(src_dir):
    if os.path.isfile(os.path.join(src_dir, n)):
        with open(os.path.join(src_dir, n), "rb") as f:
            sources[f"lode_provider/{n}"] = f.read()
if packed != sources:
    sys.exit(f"{plugin_zip} is stale: it differs from qgis/lode_provider; run `make qgis-plugin`")
sys.path.insert(0, plugin_zip)
sys.path.insert(0, "/usr/share/qgis/python/plugins")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402

import lode_provider  # noqa: E402
from lode_provider import algorithms  # noqa: E402

plugin = lode_provider.classFactory(None)
plugin.initProcessing()
registry = QgsApplication.processingRegistry()
provider = registry.providerById("lode")
result = {"provider": provider is not None and provider.name(), "plugin_file": lode_provider.__file__}
result["algorithms"] = sorted(a.id() for a in provider.algorithms())


class Feedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.lines, self.progress = [], []
        self.progressChanged.connect(self.progress.append)

    def pushConsoleInfo(self, info):  # noqa: N802
        self.lines.append(info)

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(info)

    def reportError(self, error, fatalError=False):  # noqa: N802
        self.lines.append("ERROR " + error)


context = QgsProcessingContext()
context.setProject(QgsProject.instance())
fb = Feedback()
run = processing.run("lode:run", {"CONFIG": config}, feedback=fb, context=context)
result["run_outputs"] = {k: v for k, v in run.items() if isinstance(v, str)}
result["run_log_has_stages"] = any("predict:" in line for line in fb.lines)
result["run_progress_max"] = max(fb.progress) if fb.progress else None
result["layers_to_load"] = sorted(d.name for d in context.layersToLoadOnCompletion().values())

layers = {}
for key in ("PROSPECTIVITY", "UNCERTAINTY", "TARGETS"):
    layer = algorithms.styled_layer(run[key], key.lower())
    layers[key] = layer
r = layers["PROSPECTIVITY"].renderer()
result["prospectivity_renderer"] = r.type()
shader = r.shader().rasterShaderFunction()
result["prospectivity_classes"] = len(shader.colorRampItemList())
result["prospectivity_ramp_type"] = int(shader.colorRampType())
result["uncertainty_renderer"] = layers["UNCERTAINTY"].renderer().type()
result["targets_renderer"] = layers["TARGETS"].renderer().type()
result["targets_class_attribute"] = layers["TARGETS"].renderer().classAttribute()
result["targets_features"] = layers["TARGETS"].featureCount()

settings = QgsMapSettings()
settings.setLayers([layers["TARGETS"], layers["PROSPECTIVITY"]])
settings.setDestinationCrs(layers["PROSPECTIVITY"].crs())
settings.setExtent(layers["PROSPECTIVITY"].extent())
settings.setOutputSize(QSize(400, 320))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererParallelJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
png = os.path.join(work, "qgis-render.png")
image.save(png)
colours = set()
for y in range(0, image.height(), 4):
    for x in range(0, image.width(), 4):
        colours.add(image.pixel(x, y))
result["render_png"] = png
result["render_distinct_colours"] = len(colours)

fb = Feedback()
v = processing.run("lode:validate", {"CONFIG": config}, feedback=fb)
result["validate_report"] = v["REPORT"]

# An integer evidence raster for the weights table: the scene's layer in four classes.
from osgeo import gdal  # noqa: E402
import numpy as np  # noqa: E402

src = gdal.Open(evidence)
a = src.GetRasterBand(1).ReadAsArray()
classes = np.digitize(a, np.quantile(a, [0.25, 0.5, 0.75])).astype(np.int16) + 1
evidence = os.path.join(work, "classes.tif")
dst = gdal.GetDriverByName("GTiff").Create(evidence, src.RasterXSize, src.RasterYSize, 1, gdal.GDT_Int16)
dst.SetGeoTransform(src.GetGeoTransform())
dst.SetProjection(src.GetProjection())
dst.GetRasterBand(1).WriteArray(classes)
dst = None

fb = Feedback()
out_csv = os.path.join(work, "weights.csv")
w = processing.run(
    "lode:weights",
    {"EVIDENCE": evidence, "DEPOSITS": deposits, "METHOD": 1, "UNIT_CELL_KM2": 0.01, "CONFIDENCE": 2.0, "OUTPUT": out_csv},
    feedback=fb,
)
with open(w["OUTPUT"]) as f:
    result["weights_rows"] = len(f.read().splitlines()) - 1

fb = Feedback()
context = QgsProcessingContext()
context.setProject(QgsProject.instance())
t = processing.run(
    "lode:redraw_targets",
    {"RUN_DIR": run["RUN_DIR"], "RULE": 0, "VALUE": 12.0},
    feedback=fb,
    context=context,
)
result["redraw_targets_features"] = algorithms.styled_layer(t["TARGETS"], "t").featureCount()

fb = Feedback()
try:
    processing.run("lode:validate", {"CONFIG": os.path.join(work, "missing.toml")}, feedback=fb)
    result["bad_config_error"] = None
except Exception as e:  # QgsProcessingException
    result["bad_config_error"] = str(e)
print(json.dumps(result), flush=True)
# QGIS 3.22's teardown of a headless QgsApplication can crash after the work is done;
# the report is out, so leave without it.
os._exit(0)
