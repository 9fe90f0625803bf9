"""The lode Processing provider: four algorithms that call the lode binary."""
from qgis.core import QgsProcessingProvider

from .algorithms import RedrawTargetsAlgorithm, RunAlgorithm, ValidateAlgorithm, WeightsAlgorithm


class LodeProvider(QgsProcessingProvider):
    def id(self):
        return "lode"

    def name(self):
        return "lode"

    def longName(self):  # noqa: N802
        return "lode: mineral prospectivity"

    def loadAlgorithms(self):  # noqa: N802
        for alg in (RunAlgorithm(), ValidateAlgorithm(), WeightsAlgorithm(), RedrawTargetsAlgorithm()):
            self.addAlgorithm(alg)
