"""The human-readable parts of an evidence bundle: the report in Simplified Chinese
(HTML; its wording is ``labels``), VERIFY.md, and a verification script that needs
only hashlib and the cryptography package."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ledger.evidence import labels
from ledger.log.entry import Entry

# Amounts stay whole: one unit for the line breaker (pdf) and the browser (nowrap).
AMOUNT = re.compile(r"\d[\d,]*\.\d{2} 元")


def entry_line(e: Entry, names: dict[str, str]) -> str:
    """An entry's heading: its seq, Beijing date, what and who recorded it."""
    return (f"第 {e.seq} 条　{labels.beijing_date(e.recorded_at)}　{labels.TYPES.get(e.type, e.type)}　"
            f"记录机关：{labels.authority_name(e.authority.id, names)}")


def describe(e: Entry, names: dict[str, str] | None = None) -> str:
    """One entry in plain Chinese: what, who decided, basis, dates, amounts."""
    return "；".join(labels.describe(e.type, e.body, names or {}))


def summary_lines(summary: dict) -> list[str]:
    """The export's own facts, in Chinese, times in Beijing time."""
    return [f"案号：{summary['case']}", f"申请人：{summary['requested_by']}",
            f"导出时间：{labels.beijing_time(summary['exported_at'])}",
            f"账本：{summary['origin']}，检查点树大小 {summary['tree_size']}；本次导出登记于第 {summary['custody_seq']} 条记录。"]


def render_html(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str,
                names: dict[str, str] | None = None) -> str:
    """The report as HTML (lang zh-CN); ``names`` are the registered authorities' names by id."""
    names = names or {}

    def e(text: str) -> str:
        return AMOUNT.sub(lambda m: f'<span class="amount">{m[0]}</span>', html.escape(text))

    people = "".join(f"<tr><td>{e(d['name'])}</td><td>{e(d['scheme'])}:{e(d['id'])}</td><td><code>{e(ref)}</code></td></tr>"
                     for ref, d in sorted(disclosures.items()))
    rows = "".join(
        f"<tr><td>{seq}</td><td>{e(labels.beijing_time(x.recorded_at))}</td><td>{e(labels.TYPES.get(x.type, x.type))}</td>"
        f"<td>{e(labels.authority_name(x.authority.id, names))}<br><small>{e(x.authority.id)}</small></td>"
        f"<td>{e(describe(x, names))}</td><td><code>{x.leaf_hash.hex()}</code></td></tr>"
        for seq, x in sorted(entries.items()))
    head = "<br>".join(e(line) for line in summary_lines(summary))
    return f"""<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><title>证据材料 {e(summary['case'])}</title>
<style>body{{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em}}
td,th{{border-bottom:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px}}code{{font-size:11px;word-break:break-all}}
.amount{{white-space:nowrap}}small{{color:#666}}</style>
<h1>诚信记录证据材料</h1>
<p>{head}</p>
<h2>当事人</h2><table><tr><th>姓名/名称</th><th>证件</th><th>主体标识</th></tr>{people}</table>
<h2>记录</h2>
<table><tr><th>序号</th><th>记录时间（北京时间）</th><th>事项</th><th>记录机关</th><th>内容</th><th>叶哈希（SHA-256）</th></tr>{rows}</table>
<h2>签名检查点</h2><pre>{html.escape(checkpoint)}</pre>
<h2>如何核验</h2>
<p>见 VERIFY.md：用 sha256sum 核对 manifest.json 中每个文件的哈希；用账本公钥核对检查点签名；
用 tlog-proof 核对每条记录包含在检查点所承诺的默克尔树中（RFC 9162）；用主体披露信息重新计算主体标识。
也可运行 <code>ledger verify-bundle</code> 或 <code>python3 verify_bundle.py</code>。</p>
</html>
"""


def verify_md(summary: dict, seqs: list[int]) -> str:
    s, c = seqs[0], summary["custody_seq"]
    return f"""# Verifying this evidence bundle

Case {summary['case']}, requested by {summary['requested_by']}, exported at {summary['exported_at']}
from the log `{summary['origin']}` at tree size {summary['tree_size']}. The export itself is entry
{summary['custody_seq']} (`evidence.exported`), included with its proof.

Trust only the log's public key obtained independently of this bundle (for example from the
operator's published key inventory); compare it with `keys/<log>.vkey`.

## 1. Every file is the one listed (sha256sum)

```sh
python3 -c 'import json; m=json.load(open("manifest.json")); [print(h+"  "+p) for p,h in sorted(m["files"].items())]' > SHA256SUMS
sha256sum -c SHA256SUMS
```

## 2. An entry is in the log (openssl + the proof)

Each `entries/<seq>.json` is the entry's exact bytes. Its leaf hash is SHA-256 of a zero byte and
those bytes (RFC 9162 §2.1.1):

```sh
(printf '\\000'; cat entries/{s}.json) | openssl dgst -sha256
```

`proofs/{s}.tlog-proof` (C2SP tlog-proof) holds the same bytes base64-encoded on its `extra` line,
the leaf index, the audit path (one base64 SHA-256 per line) and, after a blank line, the signed
checkpoint (`checkpoint.txt`). Fold the audit path into the leaf hash as RFC 9162 §2.1.3.2 says and
compare with the root on the checkpoint's third line; `verify_bundle.py` does exactly this.

## 3. The checkpoint is signed by the log (Ed25519)

The checkpoint's signature line is `— <name> <base64(4-byte key ID || 64-byte signature)>` over the
text before the blank line (c2sp.org/signed-note). The public key is the last `+` part of
`keys/<name>.vkey`, base64 of 0x01 followed by 32 key bytes. With openssl:

```sh
python3 -c 'open("cp.body","w").write(open("checkpoint.txt").read().split("\\n\\n")[0]+"\\n")'
python3 -c 'import base64; l=open("checkpoint.txt").read().split("\\n\\n")[1].splitlines()[0]; open("cp.sig","wb").write(base64.b64decode(l.split()[2])[4:])'
python3 -c 'import base64; k=base64.b64decode(open("keys/{summary["log_key"]}.vkey").read().strip().split("+", 2)[2])[1:]; open("log.der","wb").write(bytes.fromhex("302a300506032b6570032100")+k)'
openssl pkey -pubin -inform DER -in log.der -out log.pem
openssl pkeyutl -verify -pubin -inkey log.pem -rawin -in cp.body -sigfile cp.sig     # "Signature Verified Successfully"
```

(The first signature line is the log's; further lines are witnesses' cosignatures.)

## 4. Every entry is signed by its authority (Ed25519)

An entry is in one of two formats (docs/contracts.md §2.1, §2.7); a log holds v1 entries, then v2
entries, never a v1 after a v2.

- **v1** `{{"v": 1, "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs",
  "request_id", "body", "signer", "sig"}}`: `sig` is Ed25519 over the entry without `sig` (its RFC 8785
  bytes), by the key named in `signer`.
- **v2** `{{"v": 2, "seq", "prev", "recorded_at", "statement", "sig"}}`: the `statement` is what the
  authority said and signed, exactly `v` (2), `type`, `authority`, `actor`, `subject`, `refs`,
  `request_id`, `body`, `signed_at` (the signer's clock) and `key` (the signing key's name). `sig` is
  Ed25519 over the **signed bytes**: the line `integrity-ledger/statement/v2` and a newline, followed by
  the RFC 8785 bytes of the statement. The log adds `seq`, `prev` and `recorded_at` and does **not** sign
  entries: it signs checkpoints (step 3), and the tree (step 2) fixes each entry's bytes and place. A
  statement's `signed_at` may be at most 5 minutes later than its `recorded_at`, and its `refs` name
  earlier seqs only.

Who signs: an authority's records are signed by a key registered to that authority (`authority.id`) by
a `key.registered` entry before it and not revoked (`key.revoked`) before it; those entries are in the
bundle with their proofs (their `body`, or `statement.body` in v2, holds `vkey` and `authority_id`).
The log's own records (`log.initialized`, key and authority registrations, erasures, this export's
`evidence.exported`) are stated by the log operator and signed by the log key. The entry's own bytes
are RFC 8785, so the signed bytes can be cut from them; for example the custody entry
`entries/{c}.json` (any entry works the same way):

```sh
python3 - entries/{c}.json <<'PY'
import base64, json, sys
data = open(sys.argv[1], "rb").read()
e = json.loads(data)
if e["v"] == 2:  # the prefix line, then the statement's RFC 8785 bytes exactly as they stand in the entry
    head = b',"statement":'
    signed = b"integrity-ledger/statement/v2\\n" + data[data.index(head) + len(head):-len(b',"v":2}}')]
    key = e["statement"]["key"]
else:  # v1: the entry's RFC 8785 bytes without its sig member
    member = b',"sig":"' + e["sig"].encode() + b'"'
    cut = data.rindex(member)
    signed, key = data[:cut] + data[cut + len(member):], e["signer"]
raw = base64.b64decode(open(f"keys/{{key}}.vkey").read().strip().split("+", 2)[2])[1:]
open("entry.signed", "wb").write(signed)
open("entry.sig", "wb").write(base64.b64decode(e["sig"]))
open("signer.der", "wb").write(bytes.fromhex("302a300506032b6570032100") + raw)
print("format", e["v"], "signed by", key)
PY
openssl pkey -pubin -inform DER -in signer.der -out signer.pem
openssl pkeyutl -verify -pubin -inkey signer.pem -rawin -in entry.signed -sigfile entry.sig   # "Signature Verified Successfully"
```

That the key was registered to the entry's authority and valid at its seq is read from the key
entries; `verify_bundle.py` checks every signature and that rule.

## 5. The subject is who the disclosure says

`subjects/<ref>.json` gives scheme, number, salt and name. The reference in the entries is
`hex(SHA-256(salt || "<scheme>:<number>"))`:

```sh
python3 -c 'import hashlib,json,sys; d=json.load(open(sys.argv[1])); print(hashlib.sha256(bytes.fromhex(d["salt"])+(d["scheme"]+":"+d["id"]).encode()).hexdigest()==d["ref"])' subjects/<ref>.json
```

## All of it at once

```sh
python3 verify_bundle.py . --log-vkey <the log key you trust>   # or the .zip; needs only the cryptography package
ledger verify-bundle bundle.zip --trusted-vkey log.vkey          # the ledger's own verifier
```
"""


# The bundle's verify_bundle.py: ledger/evidence/standalone.py as it is, a script that
# imports nothing from the ledger (tests/test_hostile_bundle.py holds it to the same
# verdicts as ``ledger verify-bundle``).
VERIFY_SCRIPT = (Path(__file__).resolve().parent / "standalone.py").read_text(encoding="utf-8")
