"""Scoring: parsers, canonicalizers, aligners, metrics and failure taggers."""
