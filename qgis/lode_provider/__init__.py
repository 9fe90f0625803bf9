"""QGIS plugin entry point: registers the lode Processing provider."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import LodePlugin

    return LodePlugin(iface)
