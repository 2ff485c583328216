#!/bin/bash
# Runs once on the master's empty data directory (docker-entrypoint-initdb.d).
# The replication account is local to the master: kept out of the binary log, so the
# replica does not replay it.
set -euo pipefail

mariadb --protocol=socket -uroot -p"${MARIADB_ROOT_PASSWORD}" <<SQL
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS '${REPLICATION_USER:-repl}'@'%'
  IDENTIFIED BY '${REPLICATION_PASSWORD:-repl-password}';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${REPLICATION_USER:-repl}'@'%';
SQL
