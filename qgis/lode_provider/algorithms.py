"""The lode algorithms: each builds a lode command line, runs it with its output streamed
into the Processing feedback (cancellable), and hands the outputs back, loaded with the
QGIS styles (.qml) lode writes beside them."""
import os
import re
import shutil
import subprocess

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputFolder,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsRasterLayer,
    QgsVectorLayer,
)

# Stage names lode logs as each ends ("fit: 1.23 s"), with the progress reached then.
STAGES = {"prepare evidence": 20, "fit": 45, "predict": 75, "evaluate": 85, "targets": 95}
STAGE_LINE = re.compile(r"\b(prepare evidence|fit|predict|evaluate|targets): [0-9.]+ s\b")
WROTE_LINE = re.compile(r"^\s*wrote (.+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def lode_binary(explicit=""):
    """The lode executable: the given path, else $LODE_BIN, else `lode` on the PATH."""
    for candidate in (explicit, os.environ.get("LODE_BIN", "")):
        if candidate:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
            raise QgsProcessingException(f"lode binary {candidate} does not exist or is not executable")
    found = shutil.which("lode")
    if not found:
        raise QgsProcessingException(
            "lode was not found: put it on the PATH, set LODE_BIN, or give the 'lode binary' parameter"
        )
    return found


def run_lode(args, feedback, binary=""):
    """Runs lode with `args`, streaming its output into `feedback`; returns stdout lines.
    Raises QgsProcessingException with lode's error when it fails."""
    cmd = [lode_binary(binary)] + [str(a) for a in args]
    feedback.pushCommandInfo(" ".join(cmd))
    lines = []
    errors = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=dict(os.environ, NO_COLOR="1")
    ) as proc:
        for raw in proc.stdout:
            line = ANSI.sub("", raw.rstrip("\n"))
            lines.append(line)
            m = STAGE_LINE.search(line)
            if m:
                feedback.setProgress(STAGES[m.group(1)])
            if line.startswith("error:") or errors:
                errors.append(line)
                feedback.reportError(line)
            else:
                feedback.pushConsoleInfo(line)
            if feedback.isCanceled():
                proc.terminate()
                proc.wait()
                raise QgsProcessingException("cancelled")
        code = proc.wait()
    if code != 0:
        raise QgsProcessingException("\n".join(errors) or f"lode exited with status {code}")
    feedback.setProgress(100)
    return lines


def written(lines):
    """The files lode reports as written."""
    return [m.group(1).strip() for m in (WROTE_LINE.match(l) for l in lines) if m]


def styled_layer(path, name):
    """The output at `path` as a layer with the .qml beside it (same base name) loaded."""
    if path.endswith(".gpkg"):
        layer = QgsVectorLayer(f"{path}|layername=targets", name, "ogr")
    else:
        layer = QgsRasterLayer(path, name, "gdal")
    if not layer.isValid():
        raise QgsProcessingException(f"QGIS cannot open {path}")
    qml = os.path.splitext(path)[0] + ".qml"
    if os.path.exists(qml):
        _, ok = layer.loadNamedStyle(qml)
        if not ok:
            raise QgsProcessingException(f"QGIS cannot load the style {qml}")
    return layer


class StyleLoader(QgsProcessingLayerPostProcessorInterface):
    """Loads lode's .qml onto a layer that Processing adds to the project."""

    def __init__(self, qml):
        super().__init__()
        self.qml = qml

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS's name)
        if os.path.exists(self.qml):
            layer.loadNamedStyle(self.qml)
            layer.triggerRepaint()


# Post-processors must outlive the algorithm call that registers them.
_LOADERS = []


def load_on_completion(context, path, name):
    """Asks Processing to add the output at `path` to the project, styled, once done."""
    uri = f"{path}|layername=targets" if path.endswith(".gpkg") else path
    details = QgsProcessingContext.LayerDetails(name, context.project(), name)
    loader = StyleLoader(os.path.splitext(path)[0] + ".qml")
    _LOADERS.append(loader)
    details.setPostProcessor(loader)
    context.addLayerToLoadOnCompletion(uri, details)


class LodeAlgorithm(QgsProcessingAlgorithm):
    BINARY = "LODE_BINARY"

    def group(self):
        return "lode"

    def groupId(self):  # noqa: N802
        return "lode"

    def createInstance(self):  # noqa: N802
        return type(self)()

    def add_binary_parameter(self):
        p = QgsProcessingParameterFile(self.BINARY, "lode binary (default: LODE_BIN or the PATH)", optional=True)
        p.setFlags(p.flags() | p.FlagAdvanced)
        self.addParameter(p)

    def binary(self, parameters, context):
        return self.parameterAsFile(parameters, self.BINARY, context) or ""


class RunAlgorithm(LodeAlgorithm):
    CONFIG, THREADS = "CONFIG", "THREADS"

    def name(self):
        return "run"

    def displayName(self):  # noqa: N802
        return "Run prospectivity config"

    def shortHelpString(self):  # noqa: N802
        return (
            "Runs `lode run CONFIG`: evidence, model, map, evaluation, targets, report. The outputs go to the "
            "config's [output] dir; the map, its uncertainty and the targets are added to the project styled."
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.CONFIG, "lode config (TOML)", extension="toml"))
        self.addParameter(
            QgsProcessingParameterNumber(self.THREADS, "threads (0: one per core)", defaultValue=0, minValue=0)
        )
        self.add_binary_parameter()
        self.addOutput(QgsProcessingOutputFolder("RUN_DIR", "run folder"))
        self.addOutput(QgsProcessingOutputRasterLayer("PROSPECTIVITY", "prospectivity"))
        self.addOutput(QgsProcessingOutputRasterLayer("UNCERTAINTY", "uncertainty"))
        self.addOutput(QgsProcessingOutputVectorLayer("TARGETS", "targets", QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputString("REPORT", "report.html"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        config = self.parameterAsFile(parameters, self.CONFIG, context)
        args = ["run", config]
        threads = self.parameterAsInt(parameters, self.THREADS, context)
        if threads:
            args += ["--threads", threads]
        files = written(run_lode(args, feedback, self.binary(parameters, context)))
        by_name = {os.path.basename(f): f for f in files}
        if "prospectivity.tif" not in by_name:
            raise QgsProcessingException("lode did not report writing prospectivity.tif")
        result = {"RUN_DIR": os.path.dirname(by_name["prospectivity.tif"])}
        for key, name in (
            ("PROSPECTIVITY", "prospectivity.tif"),
            ("UNCERTAINTY", "uncertainty.tif"),
            ("UNCERTAINTY", "posterior_std.tif"),
            ("TARGETS", "targets.gpkg"),
        ):
            if name in by_name and key not in result:
                result[key] = by_name[name]
                load_on_completion(context, by_name[name], os.path.splitext(name)[0])
        result["REPORT"] = by_name.get("report.html", "")
        return result


class ValidateAlgorithm(LodeAlgorithm):
    CONFIG = "CONFIG"

    def name(self):
        return "validate"

    def displayName(self):  # noqa: N802
        return "Validate config"

    def shortHelpString(self):  # noqa: N802
        return "Runs `lode validate CONFIG`: parses the config, opens every input, lists what is missing."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(self.CONFIG, "lode config (TOML)", extension="toml"))
        self.add_binary_parameter()
        self.addOutput(QgsProcessingOutputString("REPORT", "what lode validate printed"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        config = self.parameterAsFile(parameters, self.CONFIG, context)
        lines = run_lode(["validate", config], feedback, self.binary(parameters, context))
        return {"REPORT": "\n".join(lines)}


class WeightsAlgorithm(LodeAlgorithm):
    METHODS = ["ascending", "descending", "categorical"]

    def name(self):
        return "weights"

    def displayName(self):  # noqa: N802
        return "Weights table"

    def shortHelpString(self):  # noqa: N802
        return (
            "Runs `lode weights`: the weights-of-evidence table (ArcSDM's Calculate Weights columns) of one "
            "integer raster against deposit points, written as CSV."
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("EVIDENCE", "evidence raster (integer classes)"))
        self.addParameter(QgsProcessingParameterFile("DEPOSITS", "deposit points (any OGR source)"))
        self.addParameter(QgsProcessingParameterEnum("METHOD", "method", options=self.METHODS, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterNumber(
                "UNIT_CELL_KM2", "unit cell (km²)", QgsProcessingParameterNumber.Double, defaultValue=1.0, minValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "CONFIDENCE", "studentized contrast to generalise", QgsProcessingParameterNumber.Double, defaultValue=2.0
            )
        )
        self.addParameter(QgsProcessingParameterFile("MASK", "study-area mask (polygons or raster)", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "weights table", "CSV files (*.csv)"))
        self.add_binary_parameter()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        args = [
            "weights",
            "--evidence",
            self.parameterAsFile(parameters, "EVIDENCE", context),
            "--deposits",
            self.parameterAsFile(parameters, "DEPOSITS", context),
            "--method",
            self.METHODS[self.parameterAsEnum(parameters, "METHOD", context)],
            "--unit-cell-km2",
            self.parameterAsDouble(parameters, "UNIT_CELL_KM2", context),
            "--confidence",
            self.parameterAsDouble(parameters, "CONFIDENCE", context),
            "--out",
            out,
        ]
        mask = self.parameterAsFile(parameters, "MASK", context)
        if mask:
            args += ["--mask", mask]
        run_lode(args, feedback, self.binary(parameters, context))
        return {"OUTPUT": out}


class RedrawTargetsAlgorithm(LodeAlgorithm):
    RULES = ["best share of the area (%)", "probability at least"]

    def name(self):
        return "redraw_targets"

    def displayName(self):  # noqa: N802
        return "Redraw targets"

    def shortHelpString(self):  # noqa: N802
        return (
            "Runs `lode targets RUN_DIR --top-percent X | --probability P`: new target areas from a finished run "
            "without fitting again (targets.gpkg/.csv, the report's targets, metrics and manifest)."
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile("RUN_DIR", "run folder", behavior=QgsProcessingParameterFile.Folder)
        )
        self.addParameter(QgsProcessingParameterEnum("RULE", "target cells", options=self.RULES, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterNumber("VALUE", "share (%) or probability", QgsProcessingParameterNumber.Double, 5.0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "MIN_AREA_KM2", "smallest area kept (km²; empty: the run's)", QgsProcessingParameterNumber.Double,
                optional=True, minValue=0,
            )
        )
        self.add_binary_parameter()
        self.addOutput(QgsProcessingOutputVectorLayer("TARGETS", "targets", QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        run_dir = self.parameterAsFile(parameters, "RUN_DIR", context)
        rule = ["--top-percent", "--probability"][self.parameterAsEnum(parameters, "RULE", context)]
        args = ["targets", run_dir, rule, self.parameterAsDouble(parameters, "VALUE", context)]
        if parameters.get("MIN_AREA_KM2") not in (None, ""):
            args += ["--min-area-km2", self.parameterAsDouble(parameters, "MIN_AREA_KM2", context)]
        files = written(run_lode(args, feedback, self.binary(parameters, context)))
        gpkg = next((f for f in files if f.endswith("targets.gpkg")), os.path.join(run_dir, "targets.gpkg"))
        load_on_completion(context, gpkg, "targets")
        return {"TARGETS": gpkg}
