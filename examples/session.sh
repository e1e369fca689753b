#!/usr/bin/env bash
# A session on the source document's example, against a SQLite file.
# The clock is set to Feb. 2, 2015, 10:39 UTC (4:39 AM Central), the moment of the
# document's overview, so its dates are still in the future (SITEUPDATES_NOW).
set -u
here=$(cd "$(dirname "$0")" && pwd)
su="${SITEUPDATES:-$here/../.venv/bin/siteupdates}"
db="${1:-demo.db}"
rm -f "$db" "$db-wal" "$db-shm"
# Each step is one second later, so first come, first served has a real order.
n=0
tick() { n=$((n + 1)); export SITEUPDATES_NOW="2015-02-02T10:39:$(printf %02d "$n")Z"; }
step() {
    tick
    printf '\n$ siteupdates %s\n' "$*"
    "$su" --db "$db" "$@" 2>&1
    echo "(exit $?)"
}

step init "$here/district.toml"
step overview --as dana --tenant maple
step submit --as dana --tenant maple --target production/sandbox --version E.1505.1 --at "2015-02-14 01:00"
step submit --as dana --tenant maple --target staging --refresh-only --at "2015-02-10 25:00"
step submit --as sam --tenant birch --target production/sandbox --version E.1505.2 --at "2015-02-10 22:00"
step submit --as sam --tenant aspen --target staging --version E.1505.2 --at "2015-02-10 22:00"
step submit --as sam --tenant cedar --target staging --refresh-only --refresh --at "2015-02-10 22:00"
step submit --as dana --tenant birch --target staging --refresh-only --refresh --at "2015-02-10 22:00"
step submit --as dana --tenant maple --target production/sandbox --version E.1505.2 --at "2015-02-14 01:00" --key demo-1
# The same submit again (a retry): the idempotency key returns the first request.
tick
id=$("$su" --db "$db" --json submit --as dana --tenant maple --target production/sandbox \
     --version E.1505.2 --at "2015-02-14 01:00" --key demo-1 |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Birch is on the cloud plan: DB refresh is preset to yes for production/sandbox (R9).
step submit --as sam --tenant birch --target production/sandbox --refresh-only --at "2015-02-08 22:00"
refresh=$("$su" --db "$db" --json list --as sam --tenant birch |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
# The provider's exception: Aspen may try E.1505.2 on staging before its group (R10).
step submit --as sam --tenant aspen --target staging --version E.1505.2 --at "2015-02-10 22:00" \
    --override R10 --reason "agreed with the state: Aspen tries the release first" --by hosting
step queue
step schedule --dry-run
step explain "$id"
step schedule "$id" --at "2015-02-14 04:00" --by hosting --reason "date agreed with the district"
step schedule
# Sam moves Birch's refresh, well before the 48-hour cut-off: back in the queue, in its place.
step explain "$refresh" --as sam
step reschedule "$refresh" --as sam --at "2015-02-21 22:00"
step schedule
step show "$refresh"
step deliver
step outbox --request "$id"
step list --as dana --tenant maple
step overview --as dana --tenant maple
