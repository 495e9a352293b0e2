#!/usr/bin/env bash
# Back up the PMS PostgreSQL database into a folder pms-YYYYMMDD-HHMMSS/ (UTC time):
#   pms.dump          pg_dump -Fc of the whole database (what restore.sh restores)
#   csv/<table>.csv   every PMS table (marketdata_, positions_, proposals_, journal_, risk_,
#                     attribution_, briefings_, ops_), ordered by its first column, with a header
#   meta.json         database, server version, git commit, time, row count of each PMS table,
#                     last applied migration of each app, and the journal head (seq and hash
#                     of its last entry): an anchor outside the database that
#                     `manage.py verify_journal --backup DIR` and verify_system check against
#   manifest.sha256   sha256sum of every other file (check: cd DIR && sha256sum -c manifest.sha256)
# Once complete, the backup is recorded in the database (ops_checkresult, name 'backup'), where
# /metrics reads its time for the backup-age alert.
# The dump, the CSV files and the counts are read from one snapshot, so they agree even while
# the app writes. The folder is built under a hidden temporary name and renamed when complete;
# older pms-* folders beyond the newest N are deleted only after that.
#
# usage: scripts/backup.sh [--dir DIR] [--keep N] [--compose]
#   --dir DIR   where the backup folders live (default: PMS_BACKUP_DIR, else backups/ in the
#               project, where `manage.py verify_system` looks for the last backup)
#   --keep N    keep the newest N backups (default: PMS_BACKUP_KEEP, else 14)
#   --compose   run pg_dump inside the compose db service (same as PMS_USE_COMPOSE=1)
# Target (direct mode): DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD.
# Progress goes to stderr; the last line on stdout is the new folder's path.
set -euo pipefail
umask 077 # a backup holds password hashes and sessions
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

dir=${PMS_BACKUP_DIR:-$PMS_ROOT/backups}
keep=${PMS_BACKUP_KEEP:-14}
compose=0
while (($#)); do
  case $1 in
    --dir) (($# >= 2)) || die "--dir needs a folder"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    --keep) (($# >= 2)) || die "--keep needs a number"; keep=$2; shift 2 ;;
    --keep=*) keep=${1#--keep=}; shift ;;
    --compose) compose=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $keep =~ ^[1-9][0-9]*$ ]] || die "--keep / PMS_BACKUP_KEEP must be a whole number of at least 1 (got '$keep')"
[[ -n $dir ]] || die "--dir must not be empty"

# Every PMS table starts with one of the app labels.
PMS_TABLE_REGEX='^(marketdata|positions|proposals|journal|risk|attribution|briefings|ops)_'

pms_target_init "$compose" "backup.sh backs up PostgreSQL; for the embedded SQLite copy var/pms.sqlite3"

mkdir -p -- "$dir" || die "cannot create the backup folder '$dir' (not writable, or a file is in the way)"
tmp=$(mktemp -d "$dir/.pms-partial-XXXXXX") || die "the backup folder '$dir' is not writable"
# A failed or interrupted backup leaves no folder behind. (The snapshot's psql, if still
# running, ends with this script: its stdin closes and the read-only transaction rolls back.)
cleanup() {
  local status=$?
  [[ -z $tmp || ! -d $tmp ]] || rm -rf -- "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now=$(date -u +%s)
while [[ -e $dir/pms-$(date -u -d "@$now" +%Y%m%d-%H%M%S) ]]; do # two backups in one second
  sleep 1
  now=$(date -u +%s)
done
stamp=$(date -u -d "@$now" +%Y%m%d-%H%M%S)
created=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
final=$dir/pms-$stamp
say "backing up $(pms_target_label) into $final"

# One REPEATABLE READ transaction stays open while everything is read from its snapshot.
coproc SNAPSHOT { pms_psql; }
# shellcheck disable=SC2153 # set by coproc
snapshot_pid=$SNAPSHOT_PID
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" "SELECT pg_export_snapshot();" >&"${SNAPSHOT[1]}"
read -r -t 60 snapshot <&"${SNAPSHOT[0]}" || die "cannot open a snapshot of $(pms_target_label) (see the psql message above)"
[[ $snapshot =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || die "cannot open a snapshot of the database: $snapshot"

# psql reading from stdin inside the snapshot: $1 is the SQL, the rest psql options.
in_snapshot() {
  local sql=$1
  shift
  printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" \
    "SET TRANSACTION SNAPSHOT '$snapshot';" "$sql" "COMMIT;" | pms_psql "$@"
}

if [[ $PMS_MODE == compose ]]; then
  pms_pg pg_dump -Fc --snapshot="$snapshot" >"$tmp/pms.dump" || die "pg_dump failed"
else
  pms_pg pg_dump -Fc --snapshot="$snapshot" -f "$tmp/pms.dump" || die "pg_dump failed"
fi

listing=$(in_snapshot "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '$PMS_TABLE_REGEX' ORDER BY 1;") ||
  die "listing the PMS tables failed"
[[ -n $listing ]] || die "no PMS table in $(pms_target_label): is it the PMS database, and migrated?"
mapfile -t tables <<<"$listing"
mkdir "$tmp/csv"
counts=()
for table in "${tables[@]}"; do
  [[ $table =~ ^[a-z0-9_]+$ ]] || die "unexpected table name '$table'"
  in_snapshot "\\copy (SELECT * FROM public.\"$table\" ORDER BY 1) TO STDOUT WITH (FORMAT csv, HEADER)" \
    >"$tmp/csv/$table.csv" || die "exporting $table to CSV failed"
  counts+=("('$table', (SELECT count(*) FROM public.\"$table\"))")
done

if commit=$(git -C "$PMS_ROOT" rev-parse --verify --quiet HEAD 2>/dev/null); then :; else commit=""; fi
tables_sql=$(IFS=,; printf '%s' "${counts[*]}")
in_snapshot "SELECT jsonb_pretty(jsonb_build_object(
  'format', 'pms-backup/1',
  'created_at', :'created',
  'database', current_database(),
  'server_version', current_setting('server_version'),
  'git_commit', NULLIF(:'commit', ''),
  'tables', (SELECT jsonb_object_agg(t, c) FROM (VALUES $tables_sql) AS v (t, c)),
  'journal_head', (SELECT jsonb_build_object('seq', seq, 'hash', hash)
      FROM journal_entry ORDER BY seq DESC LIMIT 1),
  'migrations', (SELECT jsonb_object_agg(app, name) FROM (
      SELECT DISTINCT ON (app) app, name FROM django_migrations ORDER BY app, applied DESC, id DESC
  ) AS m)
));" -v created="$created" -v commit="$commit" >"$tmp/meta.json" || die "writing meta.json failed"

printf '%s\n' 'COMMIT;' '\q' >&"${SNAPSHOT[1]}"
wait "$snapshot_pid" || die "the snapshot transaction ended with an error"

(cd "$tmp" && find . -type f ! -name manifest.sha256 -printf '%P\n' | LC_ALL=C sort |
  xargs -d '\n' sha256sum --) >"$tmp/manifest.sha256" || die "writing manifest.sha256 failed"
sync -f "$tmp/pms.dump"
mv -T -- "$tmp" "$final" || die "cannot rename $tmp to $final"
tmp=""

# Tell the app a backup completed (one row of ops_checkresult): /metrics exports its time and
# the backup-age alert reads it wherever the backups live (another host, outside the web
# container). Written after the snapshot, so it is not part of this backup; a database without
# the table (not migrated yet) only warns: the backup itself is done.
if ! printf '%s\n' "INSERT INTO ops_checkresult (name, ok, detail, checked_at, seconds)
  VALUES ('backup', true, :'folder', now(), :seconds)
  ON CONFLICT (name) DO UPDATE SET ok = EXCLUDED.ok, detail = EXCLUDED.detail,
    checked_at = EXCLUDED.checked_at, seconds = EXCLUDED.seconds;" |
  pms_psql -v folder="$final" -v seconds="$SECONDS" >/dev/null; then
  say "warning: the backup is complete but could not be recorded in ops_checkresult (migrated?)"
fi

# Retention: the newest $keep complete backups stay (names sort by time).
listing=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/pms-[0-9]{8}-[0-9]{6}' -printf '%f\n' | LC_ALL=C sort -r) ||
  die "listing the backups in '$dir' failed"
mapfile -t all <<<"$listing"
for old in "${all[@]:keep}"; do
  say "retention (--keep $keep): deleting $dir/$old"
  rm -rf -- "${dir:?}/$old"
done
# What a killed backup (kill -9, power loss) left under its temporary name, a day on.
listing=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name '.pms-partial-*' -mmin +1440) ||
  die "listing the unfinished backups in '$dir' failed"
if [[ -n $listing ]]; then
  mapfile -t stale <<<"$listing"
  say "deleting unfinished backups: ${stale[*]}"
  rm -rf -- "${stale[@]}"
fi

say "done: $(du -sh -- "$final" | cut -f1) in $final (${#tables[@]} tables)"
printf '%s\n' "$final"
