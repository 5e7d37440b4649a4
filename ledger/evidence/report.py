"""The human-readable parts of an evidence bundle: the report in Chinese
(HTML), VERIFY.md, and a verification script that needs only hashlib and the
cryptography package."""

from __future__ import annotations

import html
from pathlib import Path

from ledger.log.entry import Entry

TYPE_ZH = {
    "log.initialized": "账本初始化", "key.registered": "登记签名密钥", "key.revoked": "撤销签名密钥",
    "honor.granted": "授予表彰奖励", "honor.revoked": "撤销表彰奖励", "subsidy.granted": "发放资助补贴",
    "clawback.ordered": "责令追回资金", "clawback.recovered": "追回资金到账", "clawback.waived": "免予追回",
    "sanction.imposed": "列入失信惩戒", "sanction.amended": "变更失信惩戒", "sanction.ended": "解除失信惩戒",
    "exemption.granted": "容错免责认定", "entry.corrected": "更正错误记录", "eligibility.checked": "资格审查记录",
    "subject.linked": "任职关系登记", "subject.erased": "删除个人信息", "note.recorded": "备注",
    "reconciliation.completed": "资金对账完成", "evidence.exported": "证据导出登记",
}
FIELD_ZH = {
    "title": "名称", "level": "级别", "programme": "项目", "awarding_body": "授予机关", "decision_date": "决定日期",
    "region": "行政区划", "document_no": "文号", "grounds": "事由", "legal_basis": "法律依据", "deciding_body": "决定机关",
    "amount_fen": "金额", "grant_ref": "资助编号", "budget_account": "预算科目", "deadline": "期限",
    "recovered_on": "到账日期", "severity": "严重程度", "effective_from": "起始日期", "effective_until": "截止日期",
    "scope": "惩戒范围", "reason": "理由", "ended_on": "解除日期", "project": "项目", "finding": "认定意见",
    "answer": "审查结论", "decision": "处理决定", "case": "案号", "requested_by": "申请人", "seqs": "导出记录",
    "override": "特批", "authority_id": "机关标识", "holder": "持有人", "purpose": "用途", "origin": "账本名称",
    "name": "密钥名称", "relation": "关系", "organisation": "单位", "valid_from": "起始日期", "valid_until": "截止日期", "kind": "类别", "officer": "审核人", "award_ref": "评审编号", "on": "评审日期",
}


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def describe(e: Entry) -> str:
    """One entry in plain Chinese: what, who decided, basis, dates, amounts."""
    parts = []
    for k, v in e.body.items():
        if k in ("vkey", "log_key", "blocking", "tree_size", "subjects", "content_sha256", "counts", "input_fingerprint"):
            continue
        label = FIELD_ZH.get(k, k)
        if k == "amount_fen":
            v = _yuan(v)
        elif k == "legal_basis" and isinstance(v, dict):
            v = f"{v.get('article', '')}（{v.get('document_no', '')}）"
        elif k == "scope" and isinstance(v, dict):
            v = f"{'、'.join(v.get('benefits', []))}；地区 {'、'.join(v.get('regions', []))}"
        elif isinstance(v, (dict, list)):
            v = "、".join(map(str, v)) if isinstance(v, list) else "；".join(f"{a}：{b}" for a, b in v.items())
        parts.append(f"{label}：{v}")
    return "；".join(parts)


def render_html(summary: dict, entries: dict[int, Entry], disclosures: dict[str, dict], checkpoint: str) -> str:
    e = html.escape
    people = "".join(f"<tr><td>{e(d['name'])}</td><td>{e(d['scheme'])}:{e(d['id'])}</td><td><code>{e(ref)}</code></td></tr>"
                     for ref, d in sorted(disclosures.items()))
    rows = "".join(
        f"<tr><td>{seq}</td><td>{e(x.recorded_at[:10])}</td><td>{e(TYPE_ZH.get(x.type, x.type))}</td>"
        f"<td>{e(x.authority.id)}（{e(x.authority.region)}）</td><td>{e(describe(x))}</td>"
        f"<td><code>{x.leaf_hash.hex()}</code></td></tr>" for seq, x in sorted(entries.items()))
    return f"""<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><title>证据材料 {e(summary['case'])}</title>
<style>body{{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;margin:2em}}
td,th{{border-bottom:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:13px}}code{{font-size:11px;word-break:break-all}}</style>
<h1>诚信记录证据材料</h1>
<p>案号：{e(summary['case'])}<br>申请人：{e(summary['requested_by'])}<br>导出时间：{e(summary['exported_at'])}<br>
账本：{e(summary['origin'])}，树大小 {summary['tree_size']}；本次导出登记于第 {summary['custody_seq']} 条记录。</p>
<h2>当事人</h2><table><tr><th>姓名/名称</th><th>证件</th><th>主体标识</th></tr>{people}</table>
<h2>记录</h2>
<table><tr><th>序号</th><th>记录日期</th><th>事项</th><th>记录机关</th><th>内容</th><th>叶哈希（SHA-256）</th></tr>{rows}</table>
<h2>签名检查点</h2><pre>{e(checkpoint)}</pre>
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
