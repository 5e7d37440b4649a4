// The console's messages, Chinese by default (docs/console.md), English on request.
// The choice is kept in localStorage (a preference, not a secret) and sets
// <html lang> so screen readers and fonts follow it.
const STORE = "ledger.console.lang";

const zh = {
  brand: "诚信登记簿 · 管理控制台",
  "entry.sanction.imposed": "{date} {body} 对该主体作出失信惩戒（{severity}），自{from}起至{until}；事由：{grounds}；依据：{basis}；范围：{scope}",
  "entry.sanction.amended": "{date} {body} 变更第 {ref} 号失信惩戒，理由：{reason}；变更为：",
  "entry.sanction.ended": "{body} 解除第 {ref} 号失信惩戒，自{ended_on}起不再适用（{reason}）",
  "entry.clawback.ordered": "{date} {body} 责令追回资金 {amount}，期限至{deadline}；事由：{grounds}；依据：{basis}",
  "entry.clawback.recovered": "{recovered_on} 第 {ref} 号追缴追回资金 {amount} 到账",
  "entry.clawback.waived": "{date} {body} 对第 {ref} 号追缴免予追回 {amount}；理由：{reason}",
  "entry.subsidy.granted": "{date} {body} 在{region}发放{kind} {amount}（项目：{programme}；资助编号：{grant_ref}）",
  "entry.honor.granted": "{date} {body} 授予{level}表彰奖励「{title}」（项目：{programme}；{region}）",
  "entry.honor.revoked": "{date} {body} 撤销第 {ref} 号表彰奖励；事由：{grounds}；依据：{basis}",
  "entry.exemption.granted": "{date} {body} 对第 {ref} 号记录作出容错免责认定（项目：{project}）：{finding}",
  "entry.eligibility.checked": "{officer} 就「{award_ref}」（项目：{programme}；{benefit}；{region}；授予日期{on}）进行授予前核查：{answer}，决定{decision}",
  "entry.entry.corrected": "{body} 更正第 {ref} 号记录：{reason}",
  "entry.note.recorded": "备注：{text}",
  "entry.override": "；例外批准人：{approver}，理由：{reason}",
  "reason.sanction": "受第 {seq} 号失信惩戒限制（决定机关 {body}），期间 {from} 至 {until}",
  "reason.employer_sanction": "所在单位 {employer} 受第 {seq} 号失信惩戒限制（决定机关 {body}），须人工复核",
  "reason.clawback_overdue": "第 {seq} 号追缴：{amount} 未追回，已超过 {deadline} 的追缴期限",
  "reason.clawback_outstanding": "第 {seq} 号追缴：{amount} 尚未追回，追缴期限 {deadline}",
  "reason.ending_soon": "第 {seq} 号失信惩戒将于 {until} 届满",
  "reason.starting_soon": "第 {seq} 号失信惩戒将于 {from} 生效（决定机关 {body}）",
  "reason.exemption_applied.sanction": "第 {seq} 号失信惩戒已因第 {exempted} 号容错免责不予适用（条例第五十二条）",
  "reason.exemption_applied.clawback": "第 {seq} 号追缴已因第 {exempted} 号容错免责不予适用（条例第五十二条）",
  "reason.programmes": "；限于项目：{programmes}",
  "check.review": "需要复核的原因",
  "nav.check": "授予前核查", "nav.timeline": "主体时间线", "nav.audit": "审计验证",
  "nav.logout": "退出", "nav.lang": "English", "nav.who": "{role} · 令牌 {id}",
  "role.programme_officer": "项目经办人", "role.recorder": "登记机关", "role.auditor": "审计员",
  "role.court": "法院", "role.admin": "管理员",
  "title.login": "登录 · 诚信登记簿", "title.check": "授予前核查 · 诚信登记簿",
  "title.timeline": "主体时间线 · 诚信登记簿", "title.audit": "审计验证 · 诚信登记簿",
  "login.heading": "登录", "login.token": "访问令牌", "login.help": "请输入管理员为您签发的令牌（il_…）。令牌只保存在本标签页中，关闭标签页即失效。",
  "login.submit": "登录", "login.bad": "令牌无效、已过期或已被吊销：{message}", "login.failed": "无法连接服务器：{message}",
  "login.ok": "已登录：{role}",
  "common.loading": "正在查询…", "common.error": "出错：{message}", "common.none": "无",
  "common.forbidden": "无权限：{message}", "common.not_found": "未找到：{message}", "common.validation": "输入有误：{message}",
  // A refusal by its code (docs/api.md, Results and errors; sayError): the server's English stays out of the page.
  "error.invalid_json": "请求的数据格式有误。", "error.invalid_request": "请求格式有误。",
  "error.unsupported_media_type": "请求的内容类型不受支持。", "error.bad_request": "请求有误。",
  "error.unknown_operation": "请求中没有这项操作。", "error.operation_name_required": "请求包含多项操作，须指明执行哪一项。",
  "error.method_not_allowed": "不支持此请求方式。",
  "error.barred": "该主体被禁止授予此项待遇（阻止记录：第 {blocking} 号）。",
  "error.conflict": "请求编号 {request_id} 已用于不同的内容，未写入任何内容。",
  "error.forbidden": "无权限：该令牌的角色或辖区不允许此操作。", "error.not_found": "未找到。",
  "error.unavailable": "此服务器当前不能办理登记（未配置签名密钥或身份库）。",
  "error.validation": "输入有误：{message}", "error.rows": "名单有误：{message}",
  "error.internal": "服务器内部错误（已记录），请稍后重试。",
  "error.rate_limited": "请求过于频繁，请在 {retry_after} 秒后重试。",
  "error.response_too_large": "结果过大，请缩小查询范围。", "error.too_large": "上传或请求的内容过大。",
  "error.unauthenticated": "登录已失效，请重新登录。", "error.cost_exceeded": "一次查询的范围过大，请缩小分页后重试。",
  "common.tree_size": "登记簿规模 {size}", "common.seq": "序号", "common.open_ended": "无限期",
  "check.heading": "授予前核查", "check.intro": "授予荣誉或资金前，核查对象在授予日期、授予地区是否受失信惩戒限制（条例第五十二、六十五、六十六条）。",
  "check.scheme": "标识类型", "scheme.auto": "自动识别", "scheme.cn-rid": "居民身份号码", "scheme.cn-uscc": "统一社会信用代码", "scheme.passport": "护照（国家/号码）",
  "check.identifier": "身份号码或统一社会信用代码", "check.identifier.placeholder": "例如 150102199001010019",
  "check.benefit": "授予类别", "benefit.honor": "表彰奖励", "benefit.subsidy": "资助补贴", "benefit.talent_project": "人才项目",
  "check.programme": "项目", "check.region": "授予地区", "check.region.all": "（全区）", "check.region.league": "盟市",
  "check.region.county": "旗县（区）", "check.region.code": "代码 {code}", "check.on": "授予日期", "check.submit": "核查",
  "id.empty": "", "id.ok": "格式与校验码正确：{identifier}",
  "id.rid_length": "居民身份号码应为 18 位（或 15 位旧号），现为 {n} 位",
  "id.rid_chars": "居民身份号码应为 17 位数字加 1 位校验码（数字或 X）",
  "id.rid_birth": "出生日期 {date} 不是有效日期",
  "id.rid_check": "校验码错误：末位为 {got}，应为 {want}（GB 11643 MOD 11-2）",
  "id.uscc_length": "统一社会信用代码应为 18 位，现为 {n} 位",
  "id.uscc_head": "统一社会信用代码前 8 位应为数字",
  "id.uscc_chars": "含有不允许的字符 {chars}（代码字符集不含 I、O、Z、S、V）",
  "id.uscc_check": "校验码错误：末位为 {got}，应为 {want}（GB 32100 MOD 31）",
  "id.passport_format": "护照应写作 国家三字母代码/号码，例如 DEU/C01X00T47",
  "id.server_ok": "服务器确认：{identifier}", "id.server_bad": "服务器：{rule}", "id.server_wait": "服务器确认中…",
  "answer.eligible": "可以授予", "answer.barred": "禁止授予", "answer.needs_review": "需要复核",
  "check.blocking": "阻止授予的原因", "check.warnings": "提示（含已适用的容错免责）", "check.clawbacks": "未追回的追缴款",
  "check.sanctions": "现行有效的惩戒",
  "col.seq": "序号", "col.kind": "类别", "col.message": "说明", "col.basis": "法律依据", "col.period": "期间",
  "col.amount": "金额", "col.recovered": "已追回", "col.outstanding": "未追回", "col.deadline": "期限", "col.overdue": "逾期",
  "col.severity": "严重程度", "col.scope": "范围", "col.body": "决定机关", "col.type": "类型", "col.recorded_at": "登记时间",
  "col.authority": "登记机关", "col.details": "内容", "col.status": "状态", "col.title": "名称", "col.programme": "项目",
  "col.date": "日期", "col.ref": "编号",
  "kind.sanction": "失信惩戒", "kind.employer_sanction": "所在单位受惩戒", "kind.clawback_overdue": "追缴逾期未还",
  "kind.clawback_outstanding": "追缴款未还清", "kind.exemption_applied": "已适用容错免责", "kind.ending_soon": "惩戒即将届满",
  "kind.starting_soon": "惩戒即将生效",
  "severity.serious": "严重失信", "severity.general": "一般失信",
  "check.no_subject": "登记簿中没有该主体的任何记录，因此不存在限制（{message}）。",
  "check.timeline_link": "查看该主体的时间线",
  "record.heading": "记录本次核查", "record.award_ref": "授予文号/编号", "record.officer": "经办人",
  "record.decision": "决定", "decision.proceed": "继续授予", "decision.refuse": "不予授予", "decision.override": "例外批准（须批准人及理由）",
  "record.approver": "批准人", "record.reason": "理由", "record.submit": "记录核查",
  "record.ok": "已记录：序号 {seq}，叶哈希 {leaf}", "record.role": "只有项目经办人令牌可以记录核查。",
  "record.need_override": "例外批准须填写批准人和理由。",
  "timeline.heading": "主体时间线", "timeline.intro": "主体的全部登记记录，按序号排列，并按荣誉、资助、追缴、惩戒分组。",
  "timeline.submit": "查看", "timeline.axis": "时间轴：惩戒期间与资助、追缴", "timeline.all": "全部记录（按序号）",
  "group.honor": "荣誉", "group.grant": "资助", "group.clawback": "追缴", "group.sanction": "惩戒", "group.other": "其他",
  "timeline.entries": "共 {n} 条记录（登记簿规模 {size}）",
  "timeline.withheld": "登记簿规模 {size}：以下为现状；您的角色不能查看原始条目（审计或记录人员可查看）",
  "timeline.withheld_short": "您的角色不能查看原始条目。", "timeline.proof": "证明",
  "status.active": "有效", "status.revoked": "已撤销", "status.voided": "已作废", "status.exempted": "已免责",
  "status.in_force": "生效中", "status.ended": "已终止", "status.not_in_force": "未生效",
  "legend.sanction": "惩戒期间", "legend.grant": "资助", "legend.clawback": "追缴（未追回金额）", "legend.today": "今天",
  "audit.heading": "审计验证", "audit.checkpoint": "最新检查点", "audit.size": "规模", "audit.root": "根哈希",
  "audit.key": "固定的日志公钥（vkey）", "audit.key.help": "验证只使用您在此固定的公钥，结果不取决于服务器的回答；未固定公钥时不予验证。预填的公钥来自本服务器，本身不能证明任何事：请与您从其他渠道（如代码仓库 keys/ 目录或公告）获得的公钥核对后再固定。",
  "audit.key.pin": "固定公钥", "audit.key.pinned": "已固定：{name}", "audit.key.differs": "注意：服务器公布的公钥与您固定的不同：{vkey}",
  "audit.key.not_pinned": "尚未固定：框中的公钥来自本服务器，本身不能证明任何事。请核对后按“固定公钥”，否则不予验证。",
  "audit.key.field_unpinned": "框中的公钥已改动，尚未固定（当前固定的是 {name}）。", "audit.key.pinned_step": "您固定的公钥",
  "audit.unpinned.none": "未验证：尚未固定公钥。验证结论只能建立在您自己核对过的公钥上，而不是本服务器提供的公钥。请将上方公钥与您从其他渠道（代码仓库 keys/ 目录、公告、上次审计）获得的公钥逐字核对，一致后按“固定公钥”。",
  "audit.unpinned.changed": "未验证：框中的公钥不是您固定的公钥（{name}）。请核对后按“固定公钥”，或恢复为已固定的公钥。",
  "audit.covered": "经日志认证的文件：{files}。检查点有日志签名；每个条目都有包含证明；条目、公钥和身份披露的 SHA-256 记录在日志签名的出证记录（evidence.exported）中。",
  "audit.not_covered": "未经日志认证：{files}。manifest.json 没有签名；报告（report.html、report.pdf）和说明（VERIFY.md、verify_bundle.py）只是呈现，被改动并重算清单后，上面的验证照样通过。请以已认证的条目为准，不要只看报告。",
  "audit.input": "粘贴 tlog-proof，或上传 tlog-proof / 证据包（.zip）", "audit.file": "选择文件",
  "audit.fetch": "从服务器获取序号的证明", "audit.fetch.seq": "序号", "audit.verify": "在浏览器中验证",
  "audit.ok.proof": "验证通过：条目 {seq}（{type}）包含在规模为 {size} 的日志中，检查点由 {key} 签名。",
  "audit.ok.bundle": "证据包验证通过：案件 {case}，{entries} 条记录，{subjects} 份身份披露，规模 {size}。结论只涵盖下列经日志认证的文件。",
  "audit.fail": "验证失败 — {check}：{detail}", "audit.empty": "请粘贴或上传证明。", "audit.method": "全部计算在本浏览器内完成（WebCrypto：SHA-256、Ed25519），不依赖服务器的判断。",
  "check.proof_format": "证明格式", "check.checkpoint_format": "检查点格式", "check.checkpoint_signature": "检查点签名（Ed25519）",
  "check.inclusion": "包含证明（RFC 9162 §2.1.3）", "check.entry": "条目内容", "check.key": "公钥",
  "check.zip": "压缩包", "check.manifest": "清单与文件哈希（SHA-256）", "check.entry_signature": "条目签名（Ed25519）",
  "check.disclosure": "身份披露", "check.custody": "出证记录（保管链）", "check.webcrypto": "浏览器加密接口", "check.internal": "验证程序",
  "audit.webcrypto": "此浏览器不能使用 WebCrypto（需 HTTPS 或本机地址，且支持 Ed25519）。",
  "nav.key": "我的签名密钥", "nav.keys": "密钥登记", "nav.round": "批量核查", "nav.supervision": "监督统计", "nav.public": "失信惩戒公示", "title.key": "我的签名密钥 · 诚信登记簿", "title.keys": "签名密钥登记 · 诚信登记簿",
  "key.heading": "我的签名密钥",
  "key.intro": "您记录的核查由您本人签名：签名密钥在本浏览器中生成并保存，私钥不能导出，也从不发送给服务器；服务器只收到公钥和签名。密钥须经管理员登记后才能使用。",
  "key.none.heading": "本浏览器还没有您的签名密钥",
  "key.step.generate": "第一步：按下方按钮，在本浏览器中生成签名密钥（私钥不可导出，只保存在本浏览器、本次登录中）。",
  "key.step.send": "第二步：把页面显示的公钥交给管理员，并当面或电话与管理员逐组核对公钥指纹。",
  "key.step.wait": "第三步：管理员登记后，本页显示“已登记”，即可在“授予前核查”中签名记录。未登记前不能记录。",
  "key.generate": "在本浏览器生成签名密钥", "key.generated": "已生成签名密钥。请把公钥交给管理员登记。",
  "key.card.heading": "签名密钥", "key.name": "密钥名称", "key.authority": "所属机关", "key.fingerprint": "公钥指纹（SHA-256）",
  "key.created": "生成时间", "key.vkey": "公钥（请交给管理员登记）",
  "key.vkey.help": "这是公钥，可以公开；管理员在“密钥登记”页面或用命令 ledger keys register 登记。请与管理员核对指纹的每一组。",
  "key.refresh": "刷新登记状态",
  "key.status.checking": "正在查询登记状态…", "key.status.enrolled": "已登记，可以签名",
  "key.status.pending": "尚未登记，不能签名", "key.status.revoked": "已吊销，不能签名",
  "key.status.other": "名称冲突，不能签名", "key.status.unknown": "无法查询登记状态",
  "key.status.enrolled.detail": "登记簿第 {seq} 条登记了此密钥（key.registered）。",
  "key.status.pending.detail": "登记簿中还没有此密钥。请把公钥交给管理员登记，登记后按“刷新登记状态”。",
  "key.status.revoked.detail": "此密钥在第 {revoked} 条被吊销（第 {seq} 条登记）。请生成新密钥并请管理员登记。",
  "key.status.other.detail": "登记簿第 {seq} 条以此名称登记了另一把公钥。请生成新密钥。",
  "key.replace.heading": "密钥丢失或需要更换",
  "key.replace.help": "清除浏览器数据、更换电脑或浏览器、令牌更换后，原密钥无法找回（私钥从未离开原浏览器）。请在此生成新密钥并请管理员登记；同时请管理员吊销旧密钥（ledger keys revoke 旧名称）。旧密钥此前签署的记录仍然有效、可以验证。",
  "key.replace": "生成新密钥（替换本浏览器中的密钥）",
  "key.replace.confirm": "替换后，本浏览器中的旧私钥将被永久删除，新密钥须重新登记才能签名。确定继续？",
  "key.role": "您的角色不签署记录：只有项目经办人和登记机关的令牌使用签名密钥。",
  "key.unsupported": "此浏览器不能生成签名密钥：需要 HTTPS 或本机地址，以及支持 Ed25519 的浏览器（Chromium 133 及以上等）。",
  "key.unsupported_detail": "无法生成签名密钥：{message}",
  "keys.heading": "签名密钥登记",
  "keys.intro": "登记经办人在其浏览器中生成的公钥（key.registered，由日志密钥签名）。登记前请与经办人当面或电话逐组核对公钥指纹：登记的是谁的公钥，谁就能以该机关的名义签名。",
  "keys.authority": "机关编号", "keys.name": "密钥名称（公钥为 vkey 时可不填）", "keys.public_key": "经办人页面显示的公钥",
  "keys.confirm": "我已与经办人当面或电话核对公钥指纹，完全一致", "keys.submit": "登记密钥",
  "keys.fingerprint": "公钥指纹：{fp}（请与经办人页面显示的逐组核对）", "keys.bad_key": "不是有效的公钥：{message}",
  "keys.ok": "已登记：{name}，登记簿序号 {seq}", "keys.role": "只有管理员令牌可以登记密钥。",
  "keys.list.heading": "已登记的密钥", "keys.list": "查看", "keys.count": "共 {n} 把密钥",
  "keys.state.valid": "有效", "keys.state.revoked": "已吊销",
  "keys.col.name": "名称", "keys.col.registered": "登记序号", "keys.col.revoked": "吊销序号", "keys.col.vkey": "公钥",
  "keys.holder": "持有人（经办人姓名，可不填）",
  "keys.revoke.heading": "吊销密钥", "keys.revoke.submit": "吊销",
  "keys.revoke.help": "密钥丢失、经办人离岗或更换密钥时吊销旧密钥（key.revoked）：此后它签署的内容一律被拒绝；吊销前它签署的记录仍然有效。",
  "keys.revoked": "已吊销：{name}，登记簿序号 {seq}",
  "keys.cli.heading": "命令行登记",
  "keys.cli.help": "也可在服务器上用命令行登记：把经办人的公钥（vkey 一行）存为 keys/名称.vkey，再运行 ledger keys register；更换密钥时吊销旧密钥：",
  "record.no_key": "不能记录：本浏览器没有您的签名密钥。请先到“我的签名密钥”生成密钥并请管理员登记。",
  "record.key_not_enrolled": "不能记录：您的签名密钥（{name}）{state}。请到“我的签名密钥”查看。",
  "record.signing": "正在本浏览器中签名…", "record.signer": "将由本浏览器中您的密钥 {name} 签名（已登记）。",
  "record.ok_signed": "已记录：序号 {seq}，叶哈希 {leaf}，由本浏览器的密钥 {key} 签名",
  "record.mismatch": "未签名：服务器给出的待签名内容与本浏览器计算的不一致。",
  "record.proceed_barred": "核查结果不是“可以授予”：继续授予须选择“例外批准”并填写批准人和理由。",
};

const en = {
  brand: "Integrity Ledger · Console",
  "entry.sanction.imposed": "{date} {body} imposed a sanction ({severity}) on this subject, from {from} to {until}; grounds: {grounds}; basis: {basis}; scope: {scope}",
  "entry.sanction.amended": "{date} {body} amended sanction {ref}, because: {reason}; now: ",
  "entry.sanction.ended": "{body} ended sanction {ref}: no longer applies from {ended_on} ({reason})",
  "entry.clawback.ordered": "{date} {body} ordered {amount} recovered by {deadline}; grounds: {grounds}; basis: {basis}",
  "entry.clawback.recovered": "{recovered_on} {amount} recovered on clawback {ref}",
  "entry.clawback.waived": "{date} {body} waived {amount} of clawback {ref}; reason: {reason}",
  "entry.subsidy.granted": "{date} {body} granted {amount} ({kind}) in {region} (programme: {programme}; grant ref: {grant_ref})",
  "entry.honor.granted": "{date} {body} awarded the {level} honour “{title}” (programme: {programme}; {region})",
  "entry.honor.revoked": "{date} {body} revoked honour {ref}; grounds: {grounds}; basis: {basis}",
  "entry.exemption.granted": "{date} {body} exempted entry {ref} (project: {project}): {finding}",
  "entry.eligibility.checked": "{officer} checked “{award_ref}” (programme: {programme}; {benefit}; {region}; award date {on}): {answer}, decided: {decision}",
  "entry.entry.corrected": "{body} corrected entry {ref}: {reason}",
  "entry.note.recorded": "Note: {text}",
  "entry.override": "; override approved by {approver}, because: {reason}",
  "reason.sanction": "Barred by sanction {seq} (decided by {body}), in force {from} to {until}",
  "reason.employer_sanction": "Employer {employer} is barred by sanction {seq} (decided by {body}): a person must review",
  "reason.clawback_overdue": "Clawback {seq}: {amount} unrecovered past its deadline {deadline}",
  "reason.clawback_outstanding": "Clawback {seq}: {amount} outstanding, due {deadline}",
  "reason.ending_soon": "Sanction {seq} ends on {until}",
  "reason.starting_soon": "Sanction {seq} takes effect on {from} (decided by {body})",
  "reason.exemption_applied.sanction": "Sanction {seq} is neutralised by exemption {exempted} (Art. 52)",
  "reason.exemption_applied.clawback": "Clawback {seq} is neutralised by exemption {exempted} (Art. 52)",
  "reason.programmes": "; in programmes {programmes}",
  "check.review": "Reasons for review",
  "nav.check": "Pre-award check", "nav.timeline": "Subject timeline", "nav.audit": "Audit",
  "nav.logout": "Log out", "nav.lang": "中文", "nav.who": "{role} · token {id}",
  "role.programme_officer": "Programme officer", "role.recorder": "Recorder", "role.auditor": "Auditor",
  "role.court": "Court", "role.admin": "Administrator",
  "title.login": "Log in · Integrity Ledger", "title.check": "Pre-award check · Integrity Ledger",
  "title.timeline": "Subject timeline · Integrity Ledger", "title.audit": "Audit · Integrity Ledger",
  "login.heading": "Log in", "login.token": "Access token", "login.help": "Enter the token your administrator issued (il_…). It is kept in this tab only and forgotten when the tab closes.",
  "login.submit": "Log in", "login.bad": "The token is invalid, expired or revoked: {message}", "login.failed": "Cannot reach the server: {message}",
  "login.ok": "Logged in: {role}",
  "common.loading": "Asking the ledger…", "common.error": "Error: {message}", "common.none": "None",
  "common.forbidden": "Not allowed: {message}", "common.not_found": "Not found: {message}", "common.validation": "Invalid input: {message}",
  "error.invalid_json": "The request's data is malformed.", "error.invalid_request": "The request is malformed.",
  "error.unsupported_media_type": "The request's content type is not supported.", "error.bad_request": "Bad request.",
  "error.unknown_operation": "No such operation in the request.",
  "error.operation_name_required": "The request holds several operations: name the one to run.",
  "error.method_not_allowed": "This request method is not allowed.",
  "error.barred": "The subject is barred for this benefit (blocking entries: {blocking}).",
  "error.conflict": "request_id {request_id} was used before for different content; nothing was written.",
  "error.forbidden": "Not allowed: this token's role or jurisdiction does not permit it.", "error.not_found": "Not found.",
  "error.unavailable": "This server cannot record now (no signing key or vault configured).",
  "error.validation": "Invalid input: {message}", "error.rows": "The list has errors: {message}",
  "error.internal": "Unexpected server error (logged): try again later.",
  "error.rate_limited": "Too many requests: try again in {retry_after} s.",
  "error.response_too_large": "The answer would be too large: ask for less.",
  "error.too_large": "The upload or request is too large.",
  "error.unauthenticated": "Your sign-in is no longer valid: sign in again.",
  "error.cost_exceeded": "The query asks for too much at once: ask for smaller pages.",
  "common.tree_size": "tree size {size}", "common.seq": "seq", "common.open_ended": "indefinite",
  "check.heading": "Pre-award check", "check.intro": "Before an honour or money is awarded: is the subject barred on the award date, in the award's region (Art. 52, 65, 66)?",
  "check.scheme": "Identifier type", "scheme.auto": "Detect", "scheme.cn-rid": "Resident identity number", "scheme.cn-uscc": "Unified social credit code", "scheme.passport": "Passport (country/number)",
  "check.identifier": "Identity number or credit code", "check.identifier.placeholder": "e.g. 150102199001010019",
  "check.benefit": "Benefit", "benefit.honor": "Honour", "benefit.subsidy": "Subsidy", "benefit.talent_project": "Talent project",
  "check.programme": "Programme", "check.region": "Award region", "check.region.all": "(whole region)", "check.region.league": "League or city",
  "check.region.county": "Banner or county", "check.region.code": "code {code}", "check.on": "Award date", "check.submit": "Check",
  "id.empty": "", "id.ok": "Format and check character are valid: {identifier}",
  "id.rid_length": "A resident identity number has 18 characters (or 15, old style); this has {n}",
  "id.rid_chars": "A resident identity number is 17 digits and a check character (digit or X)",
  "id.rid_birth": "Birth date {date} is not a real date",
  "id.rid_check": "Wrong check character: ends in {got}, want {want} (GB 11643 MOD 11-2)",
  "id.uscc_length": "A unified social credit code has 18 characters; this has {n}",
  "id.uscc_head": "The first 8 characters of a credit code are digits",
  "id.uscc_chars": "Characters not allowed: {chars} (the alphabet has no I, O, Z, S, V)",
  "id.uscc_check": "Wrong check character: ends in {got}, want {want} (GB 32100 MOD 31)",
  "id.passport_format": "Write a passport as COUNTRY/NUMBER, e.g. DEU/C01X00T47",
  "id.server_ok": "Server confirms: {identifier}", "id.server_bad": "Server: {rule}", "id.server_wait": "Asking the server…",
  "answer.eligible": "Eligible", "answer.barred": "Barred", "answer.needs_review": "Needs review",
  "check.blocking": "Why not", "check.warnings": "Warnings (including exemptions applied)", "check.clawbacks": "Unrecovered clawbacks",
  "check.sanctions": "Sanctions in force",
  "col.seq": "Seq", "col.kind": "Kind", "col.message": "Message", "col.basis": "Legal basis", "col.period": "Period",
  "col.amount": "Amount", "col.recovered": "Recovered", "col.outstanding": "Outstanding", "col.deadline": "Deadline", "col.overdue": "Overdue",
  "col.severity": "Severity", "col.scope": "Scope", "col.body": "Deciding body", "col.type": "Type", "col.recorded_at": "Recorded at",
  "col.authority": "Authority", "col.details": "Details", "col.status": "Status", "col.title": "Title", "col.programme": "Programme",
  "col.date": "Date", "col.ref": "Reference",
  "kind.sanction": "Dishonesty sanction", "kind.employer_sanction": "Employer sanctioned", "kind.clawback_overdue": "Clawback overdue",
  "kind.clawback_outstanding": "Clawback outstanding", "kind.exemption_applied": "Exemption applied (Art. 52)", "kind.ending_soon": "Sanction ending soon",
  "kind.starting_soon": "Sanction starting soon",
  "severity.serious": "serious", "severity.general": "general",
  "check.no_subject": "The ledger has no record of this subject, so nothing bars it ({message}).",
  "check.timeline_link": "Open this subject's timeline",
  "record.heading": "Record this check", "record.award_ref": "Award reference", "record.officer": "Officer",
  "record.decision": "Decision", "decision.proceed": "Proceed", "decision.refuse": "Refuse", "decision.override": "Override (approver and reason)",
  "record.approver": "Approver", "record.reason": "Reason", "record.submit": "Record the check",
  "record.ok": "Recorded: seq {seq}, leaf hash {leaf}", "record.role": "Only a programme officer's token can record checks.",
  "record.need_override": "An override needs an approver and a reason.",
  "timeline.heading": "Subject timeline", "timeline.intro": "Every entry about the subject, in seq order, grouped by honour, grant, clawback and sanction.",
  "timeline.submit": "Show", "timeline.axis": "Time axis: sanction periods, grants and clawbacks", "timeline.all": "All entries (seq order)",
  "group.honor": "Honours", "group.grant": "Grants", "group.clawback": "Clawbacks", "group.sanction": "Sanctions", "group.other": "Other",
  "timeline.entries": "{n} entries (tree size {size})",
  "timeline.withheld": "Tree size {size}: the standing below; your role does not read the entries themselves (auditors and recorders do)",
  "timeline.withheld_short": "Your role does not read the entries themselves.", "timeline.proof": "proof",
  "status.active": "active", "status.revoked": "revoked", "status.voided": "voided", "status.exempted": "exempted",
  "status.in_force": "in force", "status.ended": "ended", "status.not_in_force": "not in force",
  "legend.sanction": "sanction period", "legend.grant": "grant", "legend.clawback": "clawback (outstanding)", "legend.today": "today",
  "audit.heading": "Audit", "audit.checkpoint": "Latest checkpoint", "audit.size": "Size", "audit.root": "Root hash",
  "audit.key": "Pinned log key (vkey)", "audit.key.help": "Verification uses only the key you pin here, never the server's word; with no key pinned, nothing is verified. The field is pre-filled from this server, which proves nothing on its own: compare it with the key you got elsewhere (the repository's keys/ folder, a publication) before you pin it.",
  "audit.key.pin": "Pin key", "audit.key.pinned": "Pinned: {name}", "audit.key.differs": "Note: the server publishes a different key from the one you pinned: {vkey}",
  "audit.key.not_pinned": "Not pinned: the key in the field comes from this server and proves nothing on its own. Compare it, then press Pin key; nothing is verified until you do.",
  "audit.key.field_unpinned": "The key in the field has changed and is not pinned (the pinned key is {name}).", "audit.key.pinned_step": "the key you pinned",
  "audit.unpinned.none": "Not verified: no key is pinned. A verdict can rest only on a key you have checked yourself, not on the key this server offers. Compare the key above, character by character, with the one you got elsewhere (the repository's keys/, a publication, the last audit) and press Pin key if they match.",
  "audit.unpinned.changed": "Not verified: the key in the field is not the key you pinned ({name}). Compare it and press Pin key, or restore the pinned key.",
  "audit.covered": "Authenticated by the log: {files}. The checkpoint is signed by the log; every entry has an inclusion proof; the SHA-256 of the entries, keys and disclosures are in the log-signed custody entry (evidence.exported).",
  "audit.not_covered": "NOT authenticated by the log: {files}. manifest.json is unsigned; the reports (report.html, report.pdf) and instructions (VERIFY.md, verify_bundle.py) are renderings: edited, with the manifest re-hashed, they would still pass the checks above. Rely on the authenticated entries, not on the report.",
  "audit.input": "Paste a tlog-proof, or upload a tlog-proof or an evidence bundle (.zip)", "audit.file": "Choose file",
  "audit.fetch": "Fetch the proof of seq from the server", "audit.fetch.seq": "Seq", "audit.verify": "Verify in this browser",
  "audit.ok.proof": "Verified: entry {seq} ({type}) is in the log at size {size}; the checkpoint is signed by {key}.",
  "audit.ok.bundle": "Bundle verified: case {case}, {entries} entries, {subjects} disclosures, tree size {size}. The verdict covers only the files the log authenticates, listed below.",
  "audit.fail": "Verification failed — {check}: {detail}", "audit.empty": "Paste or upload a proof first.", "audit.method": "Everything is computed in this browser (WebCrypto: SHA-256, Ed25519); the server's opinion is not used.",
  "check.proof_format": "proof format", "check.checkpoint_format": "checkpoint format", "check.checkpoint_signature": "checkpoint signature (Ed25519)",
  "check.inclusion": "inclusion proof (RFC 9162 §2.1.3)", "check.entry": "entry", "check.key": "key",
  "check.zip": "zip archive", "check.manifest": "manifest and file hashes (SHA-256)", "check.entry_signature": "entry signature (Ed25519)",
  "check.disclosure": "disclosure", "check.custody": "custody record", "check.webcrypto": "browser crypto", "check.internal": "verifier",
  "audit.webcrypto": "WebCrypto is not available here (it needs HTTPS or a loopback address, and Ed25519 support).",
  "nav.key": "My signing key", "nav.keys": "Key enrolment", "nav.round": "Award round", "nav.supervision": "Supervision", "nav.public": "Public notices", "title.key": "My signing key · Integrity Ledger", "title.keys": "Key enrolment · Integrity Ledger",
  "key.heading": "My signing key",
  "key.intro": "The checks you record are signed by you: the signing key is made and kept in this browser; its private half cannot be exported and is never sent to the server, which receives only the public key and signatures. An admin must enrol the key before it can be used.",
  "key.none.heading": "This browser holds no signing key of yours",
  "key.step.generate": "Step 1: press the button below to make a signing key in this browser (not exportable, kept in this browser for this login only).",
  "key.step.send": "Step 2: give the public key shown to your admin, and read the fingerprint to them group by group, in person or by phone.",
  "key.step.wait": "Step 3: once the admin has enrolled it, this page says \"enrolled\" and you can sign records on the pre-award page. Until then you cannot record.",
  "key.generate": "Make a signing key in this browser", "key.generated": "Signing key made. Give the public key to your admin to enrol.",
  "key.card.heading": "Signing key", "key.name": "Key name", "key.authority": "Authority", "key.fingerprint": "Fingerprint (SHA-256)",
  "key.created": "Made at", "key.vkey": "Public key (give it to your admin)",
  "key.vkey.help": "This is the public key; it is not secret. The admin enrols it on the Key enrolment page or with ledger keys register. Compare every group of the fingerprint with the admin.",
  "key.refresh": "Check enrolment again",
  "key.status.checking": "Asking the ledger…", "key.status.enrolled": "Enrolled: ready to sign",
  "key.status.pending": "Not enrolled yet: cannot sign", "key.status.revoked": "Revoked: cannot sign",
  "key.status.other": "Name taken: cannot sign", "key.status.unknown": "Enrolment unknown",
  "key.status.enrolled.detail": "Entry {seq} of the ledger enrolled this key (key.registered).",
  "key.status.pending.detail": "The ledger does not hold this key yet. Give the public key to your admin, then press Check enrolment again.",
  "key.status.revoked.detail": "This key was revoked at entry {revoked} (enrolled at {seq}). Make a new key and have it enrolled.",
  "key.status.other.detail": "Entry {seq} enrolled another public key under this name. Make a new key.",
  "key.replace.heading": "Lost or replacing the key",
  "key.replace.help": "After clearing the browser's data, on another computer or browser, or with a new token, the old key is gone for good (its private half never left the old browser). Make a new key here and have the admin enrol it, and ask the admin to revoke the old one (ledger keys revoke OLD-NAME). Records the old key signed stay valid and verifiable.",
  "key.replace": "Make a new key (replaces the key in this browser)",
  "key.replace.confirm": "The old private key in this browser will be deleted for good, and the new key must be enrolled before it can sign. Continue?",
  "key.role": "Your role does not sign records: only programme officers' and recorders' tokens use a signing key.",
  "key.unsupported": "This browser cannot make a signing key: it needs HTTPS or a loopback address, and Ed25519 support (Chromium 133 or later, among others).",
  "key.unsupported_detail": "Cannot make a signing key: {message}",
  "keys.heading": "Key enrolment",
  "keys.intro": "Enrol the public key an officer's browser made (key.registered, signed by the log key). Compare the fingerprint with the officer first, group by group, in person or by phone: whoever holds the key you enrol can sign in the authority's name.",
  "keys.authority": "Authority id", "keys.name": "Key name (not needed for a vkey)", "keys.public_key": "Public key shown on the officer's page",
  "keys.confirm": "I compared the fingerprint with the officer, in person or by phone, and it matches", "keys.submit": "Enrol key",
  "keys.fingerprint": "Fingerprint: {fp} (compare it with the officer's page, group by group)", "keys.bad_key": "Not a public key: {message}",
  "keys.ok": "Enrolled: {name}, entry {seq}", "keys.role": "Only an admin's token can enrol keys.",
  "keys.list.heading": "Enrolled keys", "keys.list": "Show", "keys.count": "{n} keys",
  "keys.state.valid": "valid", "keys.state.revoked": "revoked",
  "keys.col.name": "Name", "keys.col.registered": "Enrolled at", "keys.col.revoked": "Revoked at", "keys.col.vkey": "Public key",
  "keys.holder": "Holder (the officer's name, optional)",
  "keys.revoke.heading": "Revoke a key", "keys.revoke.submit": "Revoke",
  "keys.revoke.help": "Revoke a key that is lost, whose officer has left, or that was replaced (key.revoked): nothing it signs is accepted after that; what it signed before stays valid.",
  "keys.revoked": "Revoked: {name}, entry {seq}",
  "keys.cli.heading": "From the command line",
  "keys.cli.help": "Or on the server, from the command line: save the officer's public key (the vkey line) as keys/NAME.vkey and run ledger keys register; when a key is replaced, revoke the old one:",
  "record.no_key": "Cannot record: this browser holds no signing key of yours. Make one on My signing key and have your admin enrol it.",
  "record.key_not_enrolled": "Cannot record: your signing key ({name}): {state}. See My signing key.",
  "record.signing": "Signing in this browser…", "record.signer": "Your key {name} in this browser will sign (enrolled).",
  "record.ok_signed": "Recorded: seq {seq}, leaf hash {leaf}, signed by this browser's key {key}",
  "record.mismatch": "Not signed: the server's bytes to sign differ from this browser's.",
  "record.proceed_barred": "The answer is not eligible: to award all the same, choose Override with an approver and a reason.",
};

export const MESSAGES = { zh, en };

/** Add a page's own messages ({zh: {...}, en: {...}}); each page module keeps its
 * strings beside it (``*_strings.js``) and calls this before ``frame``. A key
 * already defined is an error: two pages must not silently disagree on one. */
export function extend(dicts) {
  for (const [language, table] of Object.entries(dicts)) {
    for (const [key, text] of Object.entries(table)) {
      if (key in MESSAGES[language] && MESSAGES[language][key] !== text) throw new Error(`i18n key defined twice: ${key}`);
      MESSAGES[language][key] = text;
    }
  }
}

export function lang() {
  return localStorage.getItem(STORE) === "en" ? "en" : "zh";
}

export function setLang(value) {
  localStorage.setItem(STORE, value === "en" ? "en" : "zh");
  applyI18n(document);
}

/** The message for ``key`` in the current language, {name} placeholders filled. */
export function t(key, params = {}) {
  const table = MESSAGES[lang()];
  const text = table[key] ?? MESSAGES.zh[key] ?? key;
  // A parameter {key: "…"} is itself a message, translated with the rest on a language switch.
  const value = (v) => (v && typeof v === "object" && "key" in v ? t(v.key) : String(v));
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? value(params[name]) : `{${name}}`));
}

/** Translate every [data-i18n] (text), [data-i18n-placeholder] and [data-i18n-title] under ``root``. */
export function applyI18n(root) {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n, el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : {});
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  document.dispatchEvent(new CustomEvent("langchange"));
}

/** Set an element's message by key (kept translatable on a language switch). */
export function say(el, key, params = {}) {
  el.dataset.i18n = key;
  el.dataset.i18nParams = JSON.stringify(params);
  el.textContent = t(key, params);
}

export function has(key) {
  return key in MESSAGES.zh;
}

/** Say a refusal by its code: ``error.<code>`` with the refusal's details (a GraphQL
 * error's extensions, a union member's fields), else the server's own wording under
 * "common.error". ``err``: an ``ApiError``, an Error member ({code, message, …}) or any Error. */
export function sayError(el, err) {
  const code = err && typeof err.code === "string" ? err.code : null;
  const fields = err && typeof err === "object" ? { ...(err.details ?? {}), ...err } : {};
  const problems = Array.isArray(fields.problems) ? fields.problems.map((p) => `${p.field}: ${p.rule}`).join("; ") : null;
  const params = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) params[name] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v !== "object")) params[name] = join(value.map(String));
  }
  params.message = problems ?? (err instanceof Error || typeof err?.message === "string" ? err.message : String(err));
  say(el, code && has(`error.${code}`) ? `error.${code}` : "common.error", params);
}

/** 2026-03-01 -> 2026年3月1日 in Chinese; ISO in English (anything else as it is). */
export function dateText(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso ?? "");
  if (!m) return iso ?? "";
  return lang() === "zh" ? `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日` : iso;
}

/** A list in the current language's punctuation (顿号 in Chinese). */
export function join(items) {
  return items.join(lang() === "en" ? ", " : "、");
}
