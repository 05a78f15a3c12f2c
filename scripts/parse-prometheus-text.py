#!/usr/bin/env python3
"""Parses Prometheus text exposition from stdin with prometheus_client's own parser, the one
Prometheus' Python tooling uses, and prints each family as JSON: {"name", "type", "samples"}
(the sample names). Exits 1 with the parser's error when the text does not parse.

Used by Tests/WebhookAppTests/MetricsTests.swift (`pip install prometheus_client`)."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = [
        {"name": family.name, "type": family.type, "samples": sorted({sample.name for sample in family.samples})}
        for family in text_string_to_metric_families(sys.stdin.read())
    ]
except Exception as error:  # the parser raises ValueError and others for malformed text
    print(f"does not parse: {error!r}", file=sys.stderr)
    sys.exit(1)
json.dump(families, sys.stdout)
