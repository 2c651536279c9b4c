"""ASGI entry point for uvicorn workers: settings come from the environment."""

import gc

from office.app import create_app

app = create_app()

# A server process, not a library: what exists once the app is built (modules, mappers, routes,
# schemas: ~300k objects) lives as long as the process. Without this every full collection walks
# all of it again; under chat load those collections took about a third of the server's CPU.
gc.collect()
gc.freeze()
