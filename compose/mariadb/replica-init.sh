#!/bin/bash
# Runs once on the replica's empty data directory (docker-entrypoint-initdb.d), before the
# server accepts clients. Points the replica at the master with GTID replication; the threads
# start with the server that follows.
#
# The replica must not hold GTIDs of its own when it first connects, or the master (with
# gtid_strict_mode) refuses it: RESET MASTER drops any binary log the image's set-up wrote,
# and MASTER_USE_GTID=slave_pos starts from what was *replicated* (nothing yet), so the
# database, the app's user and every row arrive from the master's binary log.
set -euo pipefail

mariadb --protocol=socket -uroot -p"${MARIADB_ROOT_PASSWORD}" <<SQL
SET SESSION sql_log_bin = 0;
RESET MASTER;
SET GLOBAL gtid_slave_pos = '';
CHANGE MASTER TO
  MASTER_HOST = '${REPLICATION_MASTER_HOST:-mariadb-master}',
  MASTER_PORT = 3306,
  MASTER_USER = '${REPLICATION_USER:-repl}',
  MASTER_PASSWORD = '${REPLICATION_PASSWORD:-repl-password}',
  MASTER_CONNECT_RETRY = 5,
  MASTER_USE_GTID = slave_pos;
SQL
