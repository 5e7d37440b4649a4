"""VERIFY.md: the route a court takes by hand (docs/evidence.md, "By hand"). Pure text.

Every step is a command a person runs in one shell, from the folder holding
``bundle.zip`` and ``trusted.vkey`` (the log key obtained from the operator, not from
the bundle), with standard tools only: ``python3 -m zipfile``, ``sha256sum``,
``openssl`` and ``python3`` one-liners or short standard-library scripts where no
standard tool does the work (the Merkle fold, cutting the signed bytes). Each step
prints what it established and stops with an error when it does not hold, so the
text can be executed as written (tests/test_tamper_corpus_manual.py runs it on a good bundle
and on tampered ones). The steps check what ``verify_bundle.py`` checks, less the
key-registry replay and the §2.7 order rules, which the text names as left to the script.
"""

from __future__ import annotations

# Placeholders, not str.format: the commands are full of braces.
_TEMPLATE = r"""# Verifying this evidence bundle

Case @CASE@, requested by @REQUESTED_BY@, exported at @EXPORTED_AT@ from the log
`@ORIGIN@` at tree size @TREE_SIZE@. The export itself is entry @CUSTODY@ (`evidence.exported`),
included with its proof.

Two ways to check it. **All at once** (needs Python 3 and its `cryptography` package):

```text
python3 verify_bundle.py bundle.zip --log-vkey trusted.vkey                 # a file holding the key
python3 verify_bundle.py bundle.zip --log-vkey '@LOG_KEY@+<id>+<key>'       # or the key itself
```

It prints `OK: …` and exits 0 only against the key you trust. Without `--log-vkey` it can say no
more than `CONSISTENT, NOT AUTHENTICATED: …` (exit 3): anyone can make a bundle that agrees with a
key of their own. A failure prints `FAIL: [check] file: expected …; found …` (exit 1); input that is
not a bundle `UNREADABLE: [check] …` (exit 2).

**By hand**, with standard tools: the steps below. Run them in one shell (bash), in order, from the
folder holding `bundle.zip` and `trusted.vkey`. Each prints what it established, as shown under it,
and stops with an error when that does not hold. If a step stops, the bundle is not what the log
recorded; do not go on.

## 0. Unpack, and compare the log key with the one you trust

Save the log's public key, obtained from the operator independently of this bundle (its published
key inventory), as `trusted.vkey`. Nothing in this bundle can vouch for its own key.

```sh
python3 -m zipfile -e bundle.zip bundle && mkdir -p check && cd bundle
python3 -c 'import sys; t=open("../trusted.vkey").read().split(); b=open("keys/@LOG_KEY@.vkey").read().split(); print("0. log key: keys/@LOG_KEY@.vkey is the key you trust") if t==b and len(t)==1 else sys.exit("0. STOP: keys/@LOG_KEY@.vkey is not the key you trust")'
```

Expected: `0. log key: keys/@LOG_KEY@.vkey is the key you trust`

## 1. Every file is the one listed (sha256sum)

`manifest.json` lists every other file with its SHA-256. The manifest is not signed: this step finds
damage, not forgery (a forger re-hashes the manifest); steps 3 and 4 find forgery.

```sh
python3 -c 'import json,os,sys; m=json.load(open("manifest.json")); have={os.path.relpath(os.path.join(d,f)).replace(os.sep,"/") for d,_,fs in os.walk(".") for f in fs}-{"manifest.json"}; sys.exit("1. STOP: files not as listed: "+" ".join(sorted(have^set(m["files"])))) if have!=set(m["files"]) else [print(h+"  "+p) for p,h in sorted(m["files"].items())]' > ../check/SHA256SUMS
sha256sum --check --quiet ../check/SHA256SUMS && echo "1. files: every file is present and matches manifest.json"
```

Expected: `1. files: every file is present and matches manifest.json`

## 2. The checkpoint is signed by the log (openssl, Ed25519)

`checkpoint.txt` is a signed note (c2sp.org/signed-note): the text, a blank line, then lines
`— <name> <base64(4-byte key ID || 64-byte signature)>`, the log's and witnesses' cosignatures. The
log's signature is over the text before the blank line; its public key is the last `+` part of
`keys/@LOG_KEY@.vkey`, base64 of 0x01 and 32 key bytes (DER-wrapped below for openssl).

```sh
python3 -c 'open("../check/cp.body","w").write(open("checkpoint.txt").read().split("\n\n")[0]+"\n")'
python3 -c 'import base64; l=[x for x in open("checkpoint.txt").read().split("\n\n")[1].splitlines() if x.split()[1:2]==["@LOG_KEY@"]][0]; open("../check/cp.sig","wb").write(base64.b64decode(l.split()[2])[4:])'
python3 -c 'import base64; k=base64.b64decode(open("../trusted.vkey").read().strip().split("+",2)[2])[1:]; open("../check/log.der","wb").write(bytes.fromhex("302a300506032b6570032100")+k)'
openssl pkey -pubin -inform DER -in ../check/log.der -out ../check/log.pem
openssl pkeyutl -verify -pubin -inkey ../check/log.pem -rawin -in ../check/cp.body -sigfile ../check/cp.sig
python3 -c 'import json,sys; o,s=open("checkpoint.txt").read().split("\n")[:2]; m=json.load(open("manifest.json")); print("2. checkpoint: "+o+" at tree size "+s) if (o,int(s))==(m["origin"],m["tree_size"]) else sys.exit("2. STOP: the manifest names another log or size")'
```

Expected: `Signature Verified Successfully` and `2. checkpoint: @ORIGIN@ at tree size @TREE_SIZE@`

## 3. Every entry is in the log (SHA-256 and the Merkle path)

Each `entries/<seq>.json` is the entry's exact bytes; its leaf hash is SHA-256 of a zero byte and
those bytes (RFC 9162 §2.1.1), which openssl shows for one entry:

```sh
(printf '\000'; cat entries/@CUSTODY@.json) | openssl dgst -sha256
```

`proofs/<seq>.tlog-proof` (C2SP tlog-proof) holds the entry again on its `extra` line, the leaf index,
the audit path (one base64 SHA-256 per line) and, after a blank line, the checkpoint. No standard
tool folds an audit path, so this short standard-library script does, as RFC 9162 §2.1.3.2 says, for
every entry, and compares the result with the root on the checkpoint's third line:

```sh
python3 - <<'PY'
import base64, glob, hashlib, sys
cp = open("checkpoint.txt").read()
size, root = int(cp.split("\n")[1]), base64.b64decode(cp.split("\n")[2])
node = lambda a, b: hashlib.sha256(b"\x01" + a + b).digest()
for name in sorted(glob.glob("entries/*.json")):
    seq = name[len("entries/"):-len(".json")]
    data = open(name, "rb").read()
    head, _, against = open(f"proofs/{seq}.tlog-proof").read().partition("\n\n")
    lines = head.split("\n")[1:]
    extra = base64.b64decode(lines.pop(0)[len("extra "):]) if lines[0].startswith("extra ") else data
    index, path = int(lines[0][len("index "):]), [base64.b64decode(x) for x in lines[1:]]
    r, fn, sn = hashlib.sha256(b"\x00" + data).digest(), index, size - 1
    for p in path:
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if against != cp or extra != data or str(index) != seq or sn != 0 or r != root:
        sys.exit(f"3. STOP: {name} is NOT in the tree of checkpoint.txt")
    leaf = hashlib.sha256(b"\x00" + data).hexdigest()
    print(f"3. {name}: leaf {leaf} is in the tree of size {size}")
PY
```

Expected: one line `3. entries/<seq>.json: leaf … is in the tree of size @TREE_SIZE@` per entry.

## 4. The export recorded exactly this content (the custody entry)

Entry @CUSTODY@ (`evidence.exported`, signed by the log key, in the tree by step 3) records the case, the
requester, the seqs and subjects exported and `content_sha256`: the SHA-256 of the RFC 8785 JSON object
`{file: SHA-256 of the file}` over the content files (the entries, keys and disclosures; file names and
hex digests are ASCII, so Python's sorted, compact `json.dumps` is exactly RFC 8785 here). A disclosed
name, an entry or a key changed, or an entry left out, changes that digest.

```sh
python3 - <<'PY'
import glob, hashlib, json, sys
m = json.load(open("manifest.json"))
e = json.load(open("entries/@CUSTODY@.json"))
s = e["statement"] if e["v"] == 2 else e
b = s["body"]
digest = hashlib.sha256(json.dumps({p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in m["content"]},
                                   sort_keys=True, separators=(",", ":")).encode()).hexdigest()
entries = {f"entries/{q}.json" for q in b["seqs"]} | {"entries/@CUSTODY@.json"}
subjects = {f"subjects/{r}.json" for r in b["subjects"]}
content = {p for p in m["content"] if not p.startswith("keys/")}
if s["type"] != "evidence.exported" or b["content_sha256"] != digest:
    sys.exit(f"4. STOP: the content's SHA-256 is {digest}; the export recorded {b['content_sha256']}")
if set(glob.glob("entries/*.json")) != entries or set(glob.glob("subjects/*.json")) != subjects or content != (entries | subjects) - {"entries/@CUSTODY@.json"}:
    sys.exit("4. STOP: the entries and disclosures here are not the ones the export recorded")
if ((b["case"], b["requested_by"], e["recorded_at"], b["content_sha256"], @CUSTODY@)
        != (m["case"], m["requested_by"], m["exported_at"], m["content_sha256"], m["custody_seq"])):
    sys.exit("4. STOP: the manifest's case, requester, time, digest or custody entry is not what the export recorded")
print(f"4. custody: entry @CUSTODY@ records this content ({digest}), {len(b['seqs'])} entries, {len(subjects)} disclosures, case {b['case']}")
PY
```

Expected: `4. custody: entry @CUSTODY@ records this content (…), … entries, … disclosures, case @CASE@`

## 5. Every entry is signed (openssl, Ed25519)

An entry is in one of two formats (docs/contracts.md §2.1, §2.7); a log holds v1 entries, then v2
entries, never a v1 after a v2.

- **v1** `{"v": 1, "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs",
  "request_id", "body", "signer", "sig"}`: `sig` is Ed25519 over the entry without `sig` (its RFC 8785
  bytes), by the key named in `signer`.
- **v2** `{"v": 2, "seq", "prev", "recorded_at", "statement", "sig"}`: the `statement` is what the
  authority said and signed, exactly `v` (2), `type`, `authority`, `actor`, `subject`, `refs`,
  `request_id`, `body`, `signed_at` (the signer's clock) and `key` (the signing key's name). `sig` is
  Ed25519 over the **signed bytes**: the line `integrity-ledger/statement/v2` and a newline, followed by
  the RFC 8785 bytes of the statement. The log adds `seq`, `prev` and `recorded_at` and does **not** sign
  entries: it signs checkpoints (step 2), and the tree (step 3) fixes each entry's bytes and place. A
  statement's `signed_at` may be at most 5 minutes later than its `recorded_at`, and its `refs` name
  earlier seqs only.

The entry's own bytes are RFC 8785, so the signed bytes can be cut from them. The keys are the bundle's
`keys/<name>.vkey`, covered by the custody entry's digest (step 4); the log's is the one you trust (step 0):

```sh
for f in entries/*.json; do
python3 - "$f" <<'PY'
import base64, json, sys
data = open(sys.argv[1], "rb").read()
e = json.loads(data)
if e["v"] == 2:  # the prefix line, then the statement's RFC 8785 bytes exactly as they stand in the entry
    head = b',"statement":'
    signed = b"integrity-ledger/statement/v2\n" + data[data.index(head) + len(head):-len(b',"v":2}')]
    key = e["statement"]["key"]
else:  # v1: the entry's RFC 8785 bytes without its sig member
    member = b',"sig":"' + e["sig"].encode() + b'"'
    cut = data.rindex(member)
    signed, key = data[:cut] + data[cut + len(member):], e["signer"]
raw = base64.b64decode(open(f"keys/{key}.vkey").read().strip().split("+", 2)[2])[1:]
open("../check/entry.signed", "wb").write(signed)
open("../check/entry.sig", "wb").write(base64.b64decode(e["sig"]))
open("../check/signer.der", "wb").write(bytes.fromhex("302a300506032b6570032100") + raw)
print(f"5. {sys.argv[1]}: format {e['v']}, signed by {key}:", end=" ", flush=True)
PY
openssl pkey -pubin -inform DER -in ../check/signer.der -out ../check/signer.pem
openssl pkeyutl -verify -pubin -inkey ../check/signer.pem -rawin -in ../check/entry.signed -sigfile ../check/entry.sig
done
```

Expected: one line `5. entries/<seq>.json: format …, signed by …: Signature Verified Successfully` per entry.

Who may sign: an authority's records are signed by a key registered to that authority (`authority.id`)
by a `key.registered` entry before it and not revoked (`key.revoked`) before it; those entries are in the
bundle with their proofs (their `body`, or `statement.body` in v2, holds `vkey` and `authority_id`). The
log's own records (`log.initialized`, key and authority registrations, erasures, this export's
`evidence.exported`) are stated by the log operator and signed by the log key. Reading that rule off
the key entries, and the order rules of §2.7 (v1 before v2, `prev` and `recorded_at` between consecutive
entries, `signed_at` within 5 minutes), is left to `verify_bundle.py`.

## 6. Each subject is who its disclosure says

`subjects/<ref>.json` gives scheme, number, salt and name. The reference in the entries is
`hex(SHA-256(salt || "<scheme>:<number>"))`; the name is covered by the custody digest (step 4):

```sh
for f in subjects/*.json; do [ -e "$f" ] || continue
python3 -c 'import glob,hashlib,json,sys; d=json.load(open(sys.argv[1])); r=hashlib.sha256(bytes.fromhex(d["salt"])+(d["scheme"]+":"+d["id"]).encode()).hexdigest(); about=any(r in open(e).read() for e in glob.glob("entries/*.json")); print("6. "+sys.argv[1]+": "+d["name"]+" is the subject "+r) if r==d["ref"] and sys.argv[1]=="subjects/"+r+".json" and about else sys.exit("6. STOP: "+sys.argv[1]+" does not disclose the subject it names")' "$f"
done
echo "done: every step held"
```

Expected: one line `6. subjects/<ref>.json: <name> is the subject <ref>` per disclosure, then
`done: every step held`.
"""


def verify_md(summary: dict, seqs: list[int]) -> str:
    """VERIFY.md for a bundle: ``summary`` as the manifest states it (case, requester, time,
    origin, tree size, custody seq, log key name). ``seqs`` is kept for the caller's signature."""
    del seqs  # every step covers every entry
    text = _TEMPLATE
    for key, value in (("@CASE@", summary["case"]), ("@REQUESTED_BY@", summary["requested_by"]),
                       ("@EXPORTED_AT@", summary["exported_at"]), ("@ORIGIN@", summary["origin"]),
                       ("@TREE_SIZE@", summary["tree_size"]), ("@CUSTODY@", summary["custody_seq"]),
                       ("@LOG_KEY@", summary["log_key"])):
        text = text.replace(key, str(value))
    return text
