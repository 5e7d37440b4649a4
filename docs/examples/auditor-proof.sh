#!/usr/bin/env bash
# An auditor fetches a checkpoint, an entry and its inclusion proof over the API,
# then verifies them offline with nothing but the log's public key.
#   TOKEN=il_... bash docs/examples/auditor-proof.sh SEQ VKEY [OUTDIR]
set -euo pipefail
URL=${URL:-http://127.0.0.1:8000/graphql}
: "${TOKEN:?set TOKEN to an auditor token (printed by make run)}"
seq=${1:?SEQ}; vkey=${2:?VKEY, e.g. keys/dev-log.vkey}; out=${3:-.}
ops=$(cd "$(dirname "$0")/../../graphql/operations" && pwd)
ledger=${LEDGER:-$(dirname "$0")/../../.venv/bin/ledger}
python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read(), "variables": {"seq": int(sys.argv[2])}}))' \
    "$ops/auditor_proof_fetch.graphql" "$seq" |
  curl -sS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @- "$URL" |
  python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
out, seq = sys.argv[1], sys.argv[2]
open(f"{out}/e{seq}.tlog-proof", "w").write(d["inclusion_proof"]["tlog_proof"])
open(f"{out}/e{seq}.json", "wb").write(d["entry"]["canonical"].encode())
open(f"{out}/checkpoint.txt", "w").write(d["latest_checkpoint"]["note"])
' "$out" "$seq"
# From here on: no server, no database.
"$ledger" verify-proof "$out/e$seq.tlog-proof" --vkey "$vkey" --entry "$out/e$seq.json"
