#!/usr/bin/env bash
# A programme officer's pre-award check with curl, against `make run`'s server.
#   TOKEN=il_... bash docs/examples/pre-award.sh [SUBJECT] [REGION] [BENEFIT] [ON]
# SUBJECT is a subject reference or scheme:number (e.g. cn-rid:15010219900101001X).
# Without SUBJECT, the first sanctioned subject of the demo is asked about.
set -euo pipefail
URL=${URL:-http://127.0.0.1:8000/graphql}
: "${TOKEN:?set TOKEN to a programme_officer token (printed by make run)}"
ops=$(cd "$(dirname "$0")/../../graphql/operations" && pwd)
post() {  # post QUERY_FILE VARIABLES_JSON
  python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read(), "variables": json.loads(sys.argv[2])}))' "$1" "$2" |
    curl -sS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @- "$URL"
}
SUBJECT=${1:-}
if [ -z "$SUBJECT" ]; then
  : "${AUDITOR_TOKEN:?give a SUBJECT, or set AUDITOR_TOKEN to look one up}"
  SUBJECT=$(TOKEN=$AUDITOR_TOKEN post "$ops/auditor_first_sanctioned.graphql" '{}' |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["entries"]["edges"][0]["node"]["subject"])')
fi
post "$ops/pre_award_check.graphql" \
  "{\"subject\": \"$SUBJECT\", \"region\": \"${2:-150100}\", \"benefit\": \"${3:-subsidy}\", \"programme\": \"草原英才\", \"on\": \"${4:-$(date +%F)}\"}" |
  python3 -m json.tool --no-ensure-ascii
