#!/usr/bin/env bash
# Restore the PMS PostgreSQL database from a backup made by scripts/backup.sh.
#
# usage: scripts/restore.sh [--yes] [--compose] BACKUP_DIR_OR_DUMP
#   BACKUP_DIR_OR_DUMP  a backups/pms-YYYYMMDD-HHMMSS folder (its manifest.sha256 is checked
#                       first: any mismatch refuses), or a pg_dump -Fc file
#   --yes               do not ask; without it you type the database name to confirm (and
#                       with no terminal to type on, the restore is refused)
#   --compose           restore inside the compose db service (same as PMS_USE_COMPOSE=1): the
#                       app services (web, worker, beat if defined) are stopped first and
#                       started again after the restore
# Target (direct mode): DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD. Stop the
# app processes yourself first in direct mode.
#
# Steps: check the backup; pg_restore --clean --if-exists --single-transaction --exit-on-error
# --no-owner (all or nothing: a failed restore leaves the database as it was); move the market
# data version past every value used before, so no read model cached before the restore is
# ever served; start the app again (compose); then `python manage.py $PMS_RESTORE_VERIFY`
# (default `verify_system --after-restore`: only the integrity checks, i.e. journal chain and
# anchor, replay, NAV bridge and migrations, can fail it; stale data, absent workers and deploy
# advice are reported as warnings, not fatal; when that command does not exist, verify_journal
# and check). Exits non-zero if any step fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

yes=0
compose=0
source_path=""
while (($#)); do
  case $1 in
    --yes | -y) yes=1; shift ;;
    --compose) compose=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      [[ -z $source_path ]] || die "one backup at a time (got '$source_path' and '$1')"
      source_path=$1
      shift
      ;;
  esac
done
[[ -n $source_path ]] || die "which backup? usage: restore.sh [--yes] [--compose] BACKUP_DIR_OR_DUMP"

# --- the backup ---------------------------------------------------------------------------------
if [[ -d $source_path ]]; then
  manifest=$source_path/manifest.sha256
  [[ -f $manifest ]] || die "$source_path has no manifest.sha256: not a backup.sh folder (or give the .dump file itself)"
  grep -Eq '^[0-9a-f]{64} [ *]pms\.dump$' "$manifest" || die "$manifest does not list pms.dump"
  say "checking $manifest"
  (cd "$source_path" && sha256sum --check --strict --quiet manifest.sha256) >&2 ||
    die "the backup in $source_path does not match its manifest (damaged or altered): refusing to restore it"
  dump=$source_path/pms.dump
elif [[ -f $source_path ]]; then
  dump=$source_path
  say "warning: a bare dump file has no manifest to check it against"
else
  die "no backup folder or dump file at '$source_path'"
fi
dump=$(realpath -- "$dump")

pms_target_init "$compose" "restore.sh restores PostgreSQL; for the embedded SQLite put a copy of var/pms.sqlite3 back"

pms_pg pg_restore --list <"$dump" >/dev/null || die "$dump is not a readable pg_dump archive"
database=$(pms_psql -c 'SELECT current_database()') || die "cannot connect to $(pms_target_label)"
if [[ $PMS_MODE == compose ]]; then target="$database in the compose db service"; else target=$(pms_target_label); fi

# --- confirmation -------------------------------------------------------------------------------
if ((!yes)); then
  [[ -t 0 ]] || die "refusing to restore without confirmation: no terminal to ask on; pass --yes"
  printf 'This REPLACES every table of %s with the backup %s.\nType the database name (%s) to go on: ' \
    "$target" "$source_path" "$database" >&2
  read -r answer || die "no answer: nothing restored"
  [[ $answer == "$database" ]] || die "'$answer' is not '$database': nothing restored"
fi

# --- the app ------------------------------------------------------------------------------------
app_services=()
if [[ $PMS_MODE == compose ]]; then
  defined=$(pms_compose config --services) || die "cannot read the compose services"
  for service in web worker beat; do
    if grep -qx -- "$service" <<<"$defined"; then app_services+=("$service"); fi
  done
  if ((${#app_services[@]})); then
    say "stopping ${app_services[*]}"
    pms_compose stop "${app_services[@]}" || die "could not stop ${app_services[*]}: nothing restored"
  fi
else
  say "warning: stop the app processes (gunicorn, celery worker and beat) using $target before a restore; they are not stopped for you in direct mode"
fi

start_app() {
  if ((${#app_services[@]})); then
    say "starting ${app_services[*]}"
    pms_compose start "${app_services[@]}" || die "could not start ${app_services[*]} again: docker compose start ${app_services[*]}"
  fi
}

# manage.py against the target database.
manage() {
  if [[ $PMS_MODE == compose ]]; then
    pms_compose run --rm --no-deps -T web python manage.py "$@"
  else
    local python=python url=${DATABASE_URL:-}
    [[ ! -x $PMS_ROOT/.venv/bin/python ]] || python=$PMS_ROOT/.venv/bin/python
    if [[ -z $url || $url == sqlite:* ]]; then
      # Reached through PG* variables: the app reads DATABASE_URL only (libpq still takes the
      # password from PGPASSWORD, so it stays out of the URL).
      local host=${PGHOST:-}
      url="postgres://${PGUSER:-$(id -un)}@${host//\//%2F}${PGPORT:+:$PGPORT}/$PGDATABASE"
    fi
    (cd "$PMS_ROOT" && DATABASE_URL=$url "$python" manage.py "$@")
  fi
}

# --- restore ------------------------------------------------------------------------------------
say "restoring $dump into $target"
started=$SECONDS
if ! pms_pg pg_restore --clean --if-exists --single-transaction --exit-on-error --no-owner <"$dump"; then
  say "pg_restore failed: the transaction rolled back, $database is as it was"
  start_app
  die "restore of $dump failed"
fi
say "restored in $((SECONDS - started)) s"

# Cached read models carry the data versions of ops_dataversion in their keys; the restore took
# those back to older values, which later writes would reach again while the cache still holds
# entries computed from the data as it was before the restore. Every key carries the market
# version: moving it to the clock (in ms, far above any count of writes) makes them all new.
versioned=$(pms_psql -c "SELECT to_regclass('public.ops_dataversion') IS NOT NULL") ||
  die "restored, but cannot read it back: check $target"
if [[ $versioned == t ]]; then
  pms_psql -c "INSERT INTO ops_dataversion (scope, version)
    VALUES ('market', (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    ON CONFLICT (scope) DO UPDATE SET version = GREATEST(ops_dataversion.version + 1, EXCLUDED.version)" ||
    die "restored, but moving the cache version failed: clear the cache (Redis) before starting the app"
fi

start_app

# --- verify -------------------------------------------------------------------------------------
# verify_system exits 1 on a FAIL and 2 when the worst is a WARN (e.g. no Anthropic key, data
# as old as the backup): warnings are reported, not fatal. With --after-restore it fails on the
# integrity checks only.
verify() {
  local status=0
  say "verifying: manage.py $*"
  manage "$@" || status=$?
  if ((status == 2)) && [[ $1 == verify_system ]]; then
    say "verify_system passed with warnings (above)"
  elif ((status)); then
    die "verification failed after the restore (manage.py $* exited $status): $database holds the restored data; see the checks above"
  fi
}
if [[ -n ${PMS_RESTORE_VERIFY:-} ]]; then
  read -r -a verify_command <<<"$PMS_RESTORE_VERIFY"
  verify "${verify_command[@]}"
elif manage help verify_system >/dev/null 2>&1; then
  verify verify_system --after-restore
else
  say "there is no verify_system command: checking the journal and the project instead"
  verify verify_journal
  verify check
fi

say "done: $database restored from $source_path and verified"
