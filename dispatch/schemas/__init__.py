"""JSON Schemas of the dispatch problem and solution files (package data)."""
