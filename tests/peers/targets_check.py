"""Independent check of lode's targets.gpkg with GDAL's Python bindings (python3-gdal).

For every target polygon: the map value at an interior point (PointOnSurface), the
mean and max of the map over the polygon (gdal.Rasterize of the polygon over its
envelope window), and the deposits inside it (OGR Contains). Prints JSON.
With a 4th argument, also the mean of that uncertainty map over the polygon.
Usage: targets_check.py targets.gpkg prospectivity.tif deposits.shp [uncertainty.tif]
"""
import json
import sys

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()
gpkg, tif, deposits_path = sys.argv[1:4]
unc = gdal.Open(sys.argv[4]) if len(sys.argv) > 4 else None
m = gdal.Open(tif)
band = m.GetRasterBand(1)
nodata = band.GetNoDataValue()
x0, dx, _, y0, _, dy = m.GetGeoTransform()
src = ogr.Open(gpkg)
layer = src.GetLayerByName("targets")
dep_ds = ogr.Open(deposits_path)
dep_layer = dep_ds.GetLayer(0)
name_idx = dep_layer.GetLayerDefn().GetFieldIndex("Deposit")
points, names = [], []
for d in dep_layer:
    points.append(d.GetGeometryRef().Clone())
    names.append(d.GetField(name_idx) if name_idx >= 0 else None)
wgs84 = osr.SpatialReference()
wgs84.ImportFromEPSG(4326)
wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
to_wgs84 = osr.CoordinateTransformation(m.GetSpatialRef(), wgs84)
out = []
for f in layer:
    g = f.GetGeometryRef()
    p = g.PointOnSurface()
    col, row = int((p.GetX() - x0) / dx), int((p.GetY() - y0) / dy)
    v = float(band.ReadAsArray(col, row, 1, 1)[0, 0])
    xmin, xmax, ymin, ymax = g.GetEnvelope()
    c0, c1 = int(round((xmin - x0) / dx)), int(round((xmax - x0) / dx))
    r0, r1 = int(round((ymax - y0) / dy)), int(round((ymin - y0) / dy))
    w, h = c1 - c0, r1 - r0
    mem = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Byte)
    mem.SetGeoTransform((x0 + c0 * dx, dx, 0, y0 + r0 * dy, 0, dy))
    mem.SetProjection(m.GetProjection())
    lyr_ds = ogr.GetDriverByName("Memory").CreateDataSource("")
    lyr = lyr_ds.CreateLayer("p", srs=m.GetSpatialRef())
    feat = ogr.Feature(lyr.GetLayerDefn())
    feat.SetGeometry(g.Clone())
    lyr.CreateFeature(feat)
    gdal.RasterizeLayer(mem, [1], lyr, burn_values=[1])
    inside = mem.ReadAsArray() == 1
    vals = band.ReadAsArray(c0, r0, w, h)[inside]
    ok = vals != nodata
    extra = {}
    if unc is not None:
        u = unc.GetRasterBand(1).ReadAsArray(c0, r0, w, h)[inside].astype(np.float64)
        extra = {"mean_uncertainty": float(u.mean()), "mean_uncertainty_field": f.GetField("mean_uncertainty")}
    out.append({**extra,
        "rank": f.GetField("rank"),
        "score": f.GetField("score"),
        "area_km2": f.GetField("area_km2"),
        "mean_prob_field": f.GetField("mean_prob"),
        "max_prob_field": f.GetField("max_prob"),
        "deposits_field": f.GetField("known_deposits"),
        "top_evidence": f.GetField("top_evidence"),
        "polygon_area_km2": g.GetArea() / 1e6,
        "interior_value": v,
        "interior_is_nodata": v == nodata,
        "cells": int(inside.sum()),
        "nodata_cells": int((~ok).sum()),
        "mean_prob": float(vals[ok].astype(np.float64).mean()),
        "max_prob": float(vals[ok].max()),
        "deposits": sum(1 for q in points if g.Contains(q)),
        "names": sorted(n for q, n in zip(points, names) if g.Contains(q) and n is not None),
        "names_field": sorted(x for x in (f.GetField("deposits") or "").split("; ") if x),
        "lonlat": list(to_wgs84.TransformPoint(f.GetField("centroid_x"), f.GetField("centroid_y"))[:2]),
        "lonlat_field": [f.GetField("centroid_lon"), f.GetField("centroid_lat")],
        "greenfield_field": f.GetField("greenfield"),
    })
print(json.dumps(out))
