"""The run directory's vocabulary (docs/run-directory.md): the units its documents and flags
use, the traffic mix (`mix`: weights by action and the request each sends), and the schemas
of its JSON documents (`run_json`, `hdr_json`, `summary_json`, and a scale-out's
`scaleout_json`, each naming its producer), and `errors`: `LoadcapError`, the base of every
package's user errors, with the exit codes.
A leaf: it imports nothing of loadcap, and every package may import it.
"""
