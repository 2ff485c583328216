"""The run directory's vocabulary (docs/run-directory.md): the units its documents and flags
use. A leaf: it imports nothing of loadcap, and every package may import it.
"""
