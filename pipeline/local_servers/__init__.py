"""Throwaway servers on loopback that loadcap starts itself: MariaDB (a master and GTID
replicas), Redis and nginx configured from `compose/nginx.conf`.

`loadcap scaleout` runs its fleet on them when no `--db` is given; the test fixtures
(`tests/fixtures/`) and `scripts/bench*` are thin wrappers over the same classes. Each server
is one process on a free loopback port with its files in a directory of its own; nothing of
the machine's own MariaDB, Redis or nginx is touched.
"""
