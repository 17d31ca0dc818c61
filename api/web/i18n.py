"""The console's two message catalogs and the choice of language: ``?lang=`` (remembered in a
cookie), else the cookie, else Accept-Language, else Chinese."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

LANGS = ("zh", "en")
DEFAULT = "zh"
LANG_COOKIE = "linli_lang"

ZH: dict[str, str] = {
    "app.name": "邻里",
    "app.console": "邻里 · 管理台",
    "nav.orders": "我的订单",
    "nav.route": "今日路线",
    "nav.findings": "审计发现",
    "nav.sign_out": "退出登录",
    "nav.language": "English",
    "nav.signed_in_as": "当前用户：{name}",
    "sign_in.title": "登录",
    "sign_in.username": "用户名",
    "sign_in.password": "密码",
    "sign_in.submit": "登录",
    "sign_in.wrong": "用户名或密码不正确。",
    "sign_in.locked": "登录失败次数过多，请 {seconds} 秒后再试。",
    "sign_in.signed_out": "您已退出登录。",
    "home.title": "欢迎",
    "home.nothing": "管理台暂未为此角色提供页面，请使用 API（/docs）。",
    "orders.title": "我的订单",
    "orders.empty": "还没有订单。",
    "orders.service_date": "服务日期",
    "orders.item": "服务项目",
    "orders.provider": "服务机构",
    "orders.status": "状态",
    "orders.list_price": "标价",
    "orders.insurance": "长护险",
    "orders.subsidy": "补贴",
    "orders.copay": "自付",
    "orders.visit": "上门服务",
    "orders.more": "下一页",
    "confirm.code": "服务人员给的 6 位确认码",
    "confirm.submit": "确认服务",
    "confirm.done": "服务已确认，订单已结算。",
    "confirm.confirmed": "已确认",
    "confirm.wrong_code": "确认码不正确，请核对后重试。",
    "confirm.too_many": "确认码错误次数过多，请 {seconds} 秒后再试。",
    "confirm.not_ready": "此服务暂时无法确认（尚未签出或已确认）。",
    "route.title": "今日路线",
    "route.date": "日期",
    "route.show": "查看",
    "route.empty": "这一天没有安排。",
    "route.summary": "共 {stops} 站：已完成 {done}，服务中 {in_service}，待服务 {to_do}",
    "route.sequence": "顺序",
    "route.time": "时间",
    "route.item": "服务",
    "route.recipient": "服务对象",
    "route.address": "地址",
    "route.progress": "进度",
    "route.check_in": "签到",
    "route.check_out": "签出",
    "route.map": "当日路线图（按经纬度绘制，无底图）",
    "findings.title": "审计发现",
    "findings.month": "月份",
    "findings.rule": "规则",
    "findings.status": "状态",
    "findings.any": "全部",
    "findings.filter": "筛选",
    "findings.empty": "没有符合条件的发现。",
    "findings.id": "编号",
    "findings.severity": "严重程度",
    "findings.summary": "摘要",
    "findings.subsidy": "涉及补贴",
    "findings.more": "下一页",
    "finding.title": "审计发现 {id}",
    "finding.back": "返回列表",
    "finding.clawback": "追回金额",
    "finding.subject": "对象",
    "finding.evidence": "证据",
    "finding.visits": "涉及的上门服务",
    "finding.visit": "服务记录",
    "finding.order": "订单",
    "finding.service_date": "服务日期",
    "finding.beneficiary": "服务对象",
    "finding.id_number": "身份证号",
    "finding.id_number_masked": "（已脱敏）",
    "finding.history": "处理记录",
    "finding.no_history": "暂无处理记录。",
    "finding.at": "时间",
    "finding.from": "原状态",
    "finding.to": "新状态",
    "finding.reason": "原因",
    "finding.actor": "操作人",
    "finding.note": "备注",
    "status.requested": "待接单",
    "status.confirmed": "已接单",
    "status.scheduled": "已排班",
    "status.en_route": "途中",
    "status.in_service": "服务中",
    "status.completed": "已完成",
    "status.settled": "已结算",
    "status.cancelled": "已取消",
    "status.no_show": "未上门",
    "progress.done": "已完成",
    "progress.in_service": "服务中",
    "progress.to_do": "待服务",
    "progress.dropped": "已取消",
    "finding_status.open": "待处理",
    "finding_status.explained": "已说明",
    "finding_status.confirmed": "已确认",
    "finding_status.dismissed": "已驳回",
    "severity.low": "低",
    "severity.medium": "中",
    "severity.high": "高",
    "severity.critical": "严重",
    "error.title": "出错了",
    "error.home": "返回首页",
    "error.400": "请求无法处理。",
    "error.401": "请先登录。",
    "error.403": "您无权查看此页面。",
    "error.404": "页面不存在，或您无权查看。",
    "error.405": "不支持此操作。",
    "error.409": "当前状态不允许此操作。",
    "error.413": "提交的内容过大。",
    "error.422": "输入有误，请检查后重试。",
    "error.429": "尝试次数过多，请稍后再试。",
    "error.500": "服务器出错了，请稍后再试。",
    "error.503": "系统繁忙，请稍后再试。",
    "error.other": "请求无法完成。",
    "error.csrf": "表单已过期或来源不明，请刷新页面后重试。",
}

EN: dict[str, str] = {
    "app.name": "Linli",
    "app.console": "Linli · Console",
    "nav.orders": "My orders",
    "nav.route": "My route today",
    "nav.findings": "Audit findings",
    "nav.sign_out": "Sign out",
    "nav.language": "中文",
    "nav.signed_in_as": "Signed in as {name}",
    "sign_in.title": "Sign in",
    "sign_in.username": "User name",
    "sign_in.password": "Password",
    "sign_in.submit": "Sign in",
    "sign_in.wrong": "Wrong user name or password.",
    "sign_in.locked": "Too many failed sign-ins; try again in {seconds} s.",
    "sign_in.signed_out": "You have signed out.",
    "home.title": "Welcome",
    "home.nothing": "The console has no pages for this role yet; use the API (/docs).",
    "orders.title": "My orders",
    "orders.empty": "No orders yet.",
    "orders.service_date": "Service date",
    "orders.item": "Service",
    "orders.provider": "Provider",
    "orders.status": "Status",
    "orders.list_price": "List price",
    "orders.insurance": "Care insurance",
    "orders.subsidy": "Subsidy",
    "orders.copay": "Co-pay",
    "orders.visit": "Visit",
    "orders.more": "Next page",
    "confirm.code": "6-digit code from the worker",
    "confirm.submit": "Confirm visit",
    "confirm.done": "Visit confirmed; the order is settled.",
    "confirm.confirmed": "Confirmed",
    "confirm.wrong_code": "The confirmation code is wrong; check it and try again.",
    "confirm.too_many": "Too many wrong codes; try again in {seconds} s.",
    "confirm.not_ready": "This visit cannot be confirmed now (not checked out, or confirmed).",
    "route.title": "My route",
    "route.date": "Date",
    "route.show": "Show",
    "route.empty": "Nothing booked on this day.",
    "route.summary": "{stops} stops: {done} done, {in_service} in service, {to_do} to do",
    "route.sequence": "#",
    "route.time": "Time",
    "route.item": "Service",
    "route.recipient": "Recipient",
    "route.address": "Address",
    "route.progress": "Progress",
    "route.check_in": "Check-in",
    "route.check_out": "Check-out",
    "route.map": "The day's route (drawn from coordinates, no map tiles)",
    "findings.title": "Audit findings",
    "findings.month": "Month",
    "findings.rule": "Rule",
    "findings.status": "Status",
    "findings.any": "Any",
    "findings.filter": "Filter",
    "findings.empty": "No findings match.",
    "findings.id": "Finding",
    "findings.severity": "Severity",
    "findings.summary": "Summary",
    "findings.subsidy": "Subsidy involved",
    "findings.more": "Next page",
    "finding.title": "Finding {id}",
    "finding.back": "Back to the list",
    "finding.clawback": "Clawed back",
    "finding.subject": "Subject",
    "finding.evidence": "Evidence",
    "finding.visits": "Visits involved",
    "finding.visit": "Visit",
    "finding.order": "Order",
    "finding.service_date": "Service date",
    "finding.beneficiary": "Recipient",
    "finding.id_number": "ID number",
    "finding.id_number_masked": "(masked)",
    "finding.history": "History",
    "finding.no_history": "No review steps yet.",
    "finding.at": "When",
    "finding.from": "From",
    "finding.to": "To",
    "finding.reason": "Reason",
    "finding.actor": "By",
    "finding.note": "Note",
    "status.requested": "Requested",
    "status.confirmed": "Confirmed",
    "status.scheduled": "Scheduled",
    "status.en_route": "On the way",
    "status.in_service": "In service",
    "status.completed": "Completed",
    "status.settled": "Settled",
    "status.cancelled": "Cancelled",
    "status.no_show": "No show",
    "progress.done": "Done",
    "progress.in_service": "In service",
    "progress.to_do": "To do",
    "progress.dropped": "Dropped",
    "finding_status.open": "Open",
    "finding_status.explained": "Explained",
    "finding_status.confirmed": "Confirmed",
    "finding_status.dismissed": "Dismissed",
    "severity.low": "Low",
    "severity.medium": "Medium",
    "severity.high": "High",
    "severity.critical": "Critical",
    "error.title": "Something went wrong",
    "error.home": "Back to the start",
    "error.400": "The request could not be processed.",
    "error.401": "Sign in first.",
    "error.403": "You may not see this page.",
    "error.404": "This page does not exist, or is not yours to see.",
    "error.405": "That action is not supported here.",
    "error.409": "That is not possible in the current state.",
    "error.413": "What was sent is too large.",
    "error.422": "Some input is not valid; check it and try again.",
    "error.429": "Too many attempts; try again later.",
    "error.500": "The server ran into a problem; try again later.",
    "error.503": "The system is busy; try again later.",
    "error.other": "The request could not be completed.",
    "error.csrf": "The form has expired or did not come from this site; reload and try again.",
}

CATALOGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


class Translator:
    """``t(key, **values)`` in one language; an unknown key raises (the tests find them)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.catalog = CATALOGS[lang]

    def __call__(self, key: str, **values: Any) -> str:
        text = self.catalog[key]
        return text.format(**values) if values else text


def _accepted(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            ranked.append((-weight, i, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(request: Request) -> str:
    """The language to answer in."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    if kept in LANGS:
        return kept
    for tag in _accepted(request.headers.get("accept-language", "")):
        if tag in LANGS:
            return tag
    return DEFAULT
