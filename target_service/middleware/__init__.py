"""Pure-ASGI middleware of the reference service, one class per module (like starlette's)."""
