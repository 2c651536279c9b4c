"""GB/T 9704 typesetting: the layout model, Word output, conformance checks, Word import, diff."""
