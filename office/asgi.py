"""ASGI entry point for uvicorn workers: settings come from the environment."""

import gc

from office.app import create_app

app = create_app()

# A server process, not a library: what exists once the app is built (modules, mappers, routes,
# schemas: ~300k objects) lives as long as the process. Without this every full collection walks
# all of it again; under chat load those collections took about a third of the server's CPU.
# Young collections start later too, so the short-lived dicts of a send are mostly freed by
# reference counting before the collector ever looks at them.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 20, 10)
