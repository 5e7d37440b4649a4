// The public publicity page's strings (registered with i18n.extend before frame()).
import { extend } from "./i18n.js";

extend({
  zh: {
    "title.public": "失信惩戒公示 · 诚信登记簿", "public.heading": "失信惩戒公示",
    "public.intro": "依据条例第六十六条公示的失信惩戒决定，仅在公示期内显示；姓名和证件号码按个人信息保护法部分隐去。信用修复、纠错或撤销后即停止公示。",
    "public.search.label": "完整身份号码或统一社会信用代码", "public.search.placeholder": "例如 cn-rid:18 位身份号码，或 cn-uscc:18 位代码",
    "public.search.submit": "查询", "public.search.all": "显示全部",
    "public.col.name": "名称", "public.col.identifier": "证件号码", "public.col.body": "决定机关", "public.col.grounds": "失信行为",
    "public.col.basis": "依据", "public.col.period": "惩戒期限", "public.col.scope": "惩戒范围", "public.col.publicity": "公示截止",
    "public.prev": "上一页", "public.next": "下一页", "public.indefinite": "长期",
    "public.meta": "截至 {on}（北京时间），共 {total} 条，第 {page} 页", "public.found": "该号码在公示期内的惩戒：{n} 条",
    "public.none": "没有公示中的记录", "public.error": "查询失败：{message}", "public.limited": "请求过于频繁，请 {s} 秒后再试",
  },
  en: {
    "title.public": "Public notices · Integrity Ledger", "public.heading": "Public notices of dishonesty sanctions",
    "public.intro": "Sanction decisions publicised under Art. 66, shown only during their publicity period; names and identity numbers are partly masked (PIPL). Publicity stops on credit repair, correction or annulment.",
    "public.search.label": "Full identity number or unified social credit code", "public.search.placeholder": "e.g. cn-rid: and the 18-character number, or cn-uscc: and the code",
    "public.search.submit": "Search", "public.search.all": "Show all",
    "public.col.name": "Name", "public.col.identifier": "Identifier", "public.col.body": "Deciding body", "public.col.grounds": "Grounds",
    "public.col.basis": "Legal basis", "public.col.period": "Period", "public.col.scope": "Scope", "public.col.publicity": "Publicity until",
    "public.prev": "Previous", "public.next": "Next", "public.indefinite": "indefinite",
    "public.meta": "As of {on} (Beijing time): {total} in all, page {page}", "public.found": "Publicised sanctions of this number: {n}",
    "public.none": "Nothing is publicised", "public.error": "The search failed: {message}", "public.limited": "Too many requests: retry in {s} s",
  },
});
