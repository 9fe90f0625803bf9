"""Writes stand-in evidence layers for a lode config whose real layers are not public:
every raster it names as a random Float32 GeoTIFF on the config's grid, every vector
file as a GeoPackage with the named layer, a few polygons over the grid and the fields
the presets filter and burn on (unit, lithology, type, closed, class).
The values mean nothing: they only let `lode validate` open every input.
Usage: standin_evidence.py CONFIG.toml
"""
import sys
import tomllib
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
config = Path(sys.argv[1])
base = config.parent
c = tomllib.loads(config.read_text())
g = c["grid"]
xmin, ymin, xmax, ymax = g["bounds"]
cell = g["cell_size"]
cols, rows = int(round((xmax - xmin) / cell)), int(round((ymax - ymin) / cell))
srs = osr.SpatialReference()
srs.SetFromUserInput(g["crs"])
rng = np.random.default_rng(1)
lithologies = ["granite", "rhyolite tuff", "carbonatite", "syenite", "schist"]
done = set()
for ev in c["evidence"]:
    path = base / ev["path"]
    if path in done:
        continue
    done.add(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if ev["kind"] in ("raster", "categorical"):
        ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, 1, gdal.GDT_Float32, ["COMPRESS=DEFLATE"])
        ds.SetGeoTransform((xmin, cell, 0, ymax, 0, -cell))
        ds.SetProjection(srs.ExportToWkt())
        ds.GetRasterBand(1).WriteArray(rng.random((rows, cols), dtype=np.float32))
        ds = None
    else:
        ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
        layer = ds.CreateLayer(ev.get("layer", path.stem), srs, ogr.wkbPolygon)
        for name, t in [("unit", ogr.OFTString), ("lithology", ogr.OFTString), ("type", ogr.OFTString),
                        ("closed", ogr.OFTInteger), ("class", ogr.OFTInteger)]:
            layer.CreateField(ogr.FieldDefn(name, t))
        n = len(lithologies)
        for i, lith in enumerate(lithologies):
            x0 = xmin + (xmax - xmin) * i / n
            x1 = xmin + (xmax - xmin) * (i + 1) / n
            f = ogr.Feature(layer.GetLayerDefn())
            f.SetGeometry(ogr.CreateGeometryFromWkt(
                f"POLYGON(({x0} {ymin},{x1} {ymin},{x1} {ymax},{x0} {ymax},{x0} {ymin}))"))
            f.SetField("unit", f"unit{i}")
            f.SetField("lithology", lith)
            f.SetField("type", "rift" if i % 2 == 0 else "thrust")
            f.SetField("closed", i % 2)
            f.SetField("class", i + 1)
            layer.CreateFeature(f)
        ds = None
print(len(done), "stand-in layers")
