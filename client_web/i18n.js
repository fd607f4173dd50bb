// Virtual Window — bilingual strings (zh-CN / English) for every page.
//
// Markup declares what to translate:
//   data-i18n="key"            → textContent
//   data-i18n-aria="key"       → aria-label
//   data-i18n-title="key"      → title
//   data-i18n-ph="key"         → placeholder
// The choice is remembered in localStorage ("vw.lang"); the default follows
// navigator.language. The English accessible names are part of the contract
// with the tests: change them only together with tests/browser/.

const STRINGS = {
  en: {
    "app.name": "Virtual Window",
    "app.tagline": "Remote service for enterprises · One Call, Two Seconds Response Zone",
    "app.center": "Citizen Service Center",
    "lang.switch": "中文",
    "lang.label": "Language",
    "common.loading": "Loading…",
    "common.error": "Error",
    "common.dismiss": "Dismiss",
    "common.none": "—",
    "common.seconds": "{n} s",
    "common.minutes": "{n} min",

    // caller page
    "caller.step1": "1. Choose a service item",
    "caller.service": "Service",
    "caller.service.ph": "Search by name, English name or code",
    "caller.service.hint": "Type a few characters of the matter you need, then choose it from the list.",
    "caller.service.none": "No service item matches.",
    "caller.service.results": "Matching service items",
    "caller.service.selected": "Selected",
    "caller.step2": "2. Your details",
    "caller.company": "Company",
    "caller.name": "Name",
    "caller.phone": "Phone",
    "caller.remember": "Your details are remembered on this device only.",
    "caller.step3": "3. Camera and microphone",
    "caller.device.hint": "Check that you can see yourself. The connection is prepared now, so the specialist can answer at once.",
    "caller.device.retry": "Try camera again",
    "caller.call": "Call",
    "caller.call.need": "Choose a service item and enter your name to call.",
    "caller.waiting": "Waiting for a specialist",
    "caller.position": "Position in queue",
    "caller.estimated": "Estimated wait",
    "caller.cancel": "Cancel",
    "caller.session": "Session No.",
    "caller.connected": "Connected",
    "caller.specialist": "Specialist",
    "caller.hangup": "Hang up",
    "caller.mute": "Mute",
    "caller.camera": "Camera",
    "caller.unmute.audio": "Click to hear the specialist",
    "caller.ended": "The session has ended",
    "caller.rate": "How satisfied are you with this service?",
    "caller.rate.legend": "Satisfaction",
    "caller.rate.1": "Very dissatisfied",
    "caller.rate.2": "Dissatisfied",
    "caller.rate.3": "Neutral",
    "caller.rate.4": "Satisfied",
    "caller.rate.5": "Very satisfied",
    "caller.rate.comment": "Comment (optional)",
    "caller.rate.submit": "Submit rating",
    "caller.rate.thanks": "Thank you for your rating.",
    "caller.again": "New call",
    "caller.status.idle": "Ready to call",
    "caller.status.requesting": "Calling…",
    "caller.status.queued": "Waiting",
    "caller.status.connected": "In session",
    "caller.status.ended": "Ended",
    "caller.selfview": "Your camera",
    "caller.remoteview": "Specialist's video",

    // end reasons
    "reason.caller_hangup": "You hung up.",
    "reason.specialist_hangup": "The specialist ended the session.",
    "reason.abandoned": "The request was cancelled.",
    "reason.missed": "No specialist was available. Please try again later.",
    "reason.failed": "The media connection could not be established.",
    "reason.other": "Reason: {reason}",
    "reason.caller_left": "The request was cancelled.",
    "reason.media_timeout": "The media connection could not be established.",
    "reason.caller_disconnected": "The connection was lost.",
    "reason.specialist_disconnected": "The specialist's connection was lost. Please call again.",
    "reason.server_shutdown": "The service was restarted. Please call again.",
    "reason.max_wait": "No specialist was available. Please try again later.",

    // media leg
    "leg.label": "Connection",
    "leg.new": "Preparing",
    "leg.connecting": "Connecting",
    "leg.connected": "Ready",
    "leg.disconnected": "Interrupted",
    "leg.failed": "Failed",
    "leg.closed": "Closed",
    "leg.nomedia": "No camera or microphone: {message}",

    // chat
    "chat.title": "Messages",
    "chat.message": "Message",
    "chat.send": "Send",
    "chat.you": "You",
    "chat.caller": "Caller",
    "chat.specialist": "Specialist",

    // staff: login
    "login.title": "Staff sign-in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.logout": "Log out",
    "login.bad": "Wrong username or password.",
    "login.role.specialist": "This page is for specialists. Use an account with the specialist role.",
    "login.role.admin": "This page is for administrators. Use an account with the admin role.",

    // console
    "console.title": "Specialist console",
    "console.state": "State",
    "console.ready": "Ready",
    "console.away": "Away",
    "console.auto": "Auto-answer",
    "console.signed": "Signed in as",
    "console.idle": "No session. Press Ready to receive calls.",
    "console.idle.ready": "Waiting for calls…",
    "console.offer": "Incoming call",
    "console.accept": "Accept",
    "console.decline": "Decline",
    "console.caller": "Caller",
    "console.company": "Company",
    "console.phone": "Phone",
    "console.item": "Service item",
    "console.waited": "Waited",
    "console.countdown": "Answer within",
    "console.incall": "In session",
    "console.hangup": "Hang up",
    "console.mute": "Mute",
    "console.camera": "Camera",
    "console.wrapup": "Wrap-up",
    "console.endedby.caller": "ended by the caller",
    "console.endedby.specialist": "ended by you",
    "console.endedby.system": "ended by the system",
    "console.notes": "Notes",
    "console.disposition": "Disposition",
    "console.difficulty": "Difficulty",
    "console.finish": "Finish wrap-up",
    "console.selfview": "Your camera",
    "console.remoteview": "Caller's video",
    "disp.resolved": "Resolved",
    "disp.needs_follow_up": "Needs follow-up",
    "disp.referred": "Referred",
    "disp.not_eligible": "Not eligible",
    "disp.other": "Other",
    "state.offline": "Offline",
    "state.ready": "Ready",
    "state.away": "Away",
    "state.ringing": "Ringing",
    "state.busy": "Busy",
    "state.wrap_up": "Wrap-up",
    "state.connecting": "Connecting",

    // admin
    "admin.title": "Administration",
    "admin.metrics": "Summary",
    "admin.offered": "Offered",
    "admin.answered": "Answered",
    "admin.abandoned": "Abandoned",
    "admin.missed": "Missed",
    "admin.sl": "Service level (2 s)",
    "admin.asa": "ASA",
    "admin.aht": "AHT",
    "admin.connect": "Connect time p50 / p90 / p99",
    "admin.live": "Live",
    "admin.live.waiting": "Waiting",
    "admin.live.ready": "Ready",
    "admin.live.busy": "Busy",
    "admin.sessions": "Sessions",
    "admin.refresh": "Refresh",
    "admin.csv": "Download CSV",
    "admin.filter.outcome": "Outcome",
    "admin.filter.item": "Service item code",
    "admin.filter.all": "All",
    "admin.total": "{n} sessions",
    "admin.prev": "Previous page",
    "admin.next": "Next page",
    "admin.col.id": "Session",
    "admin.col.created": "Created",
    "admin.col.offered": "Offered",
    "admin.col.answered": "Answered",
    "admin.col.media": "Media",
    "admin.col.ended": "Ended",
    "admin.col.item": "Service item",
    "admin.col.caller": "Caller",
    "admin.col.specialist": "Specialist",
    "admin.col.outcome": "Outcome",
    "admin.col.wait": "wait_ms",
    "admin.col.connect": "connect_ms",
    "admin.col.talk": "talk_s",
    "admin.col.rating": "Satisfaction",
    "admin.col.reason": "End reason",
    "admin.empty": "No sessions yet.",
    "admin.detail": "Session details",
    "admin.events": "Events",
    "admin.recordings": "Recordings",
    "admin.close": "Close",
    "outcome.answered": "Answered",
    "outcome.abandoned": "Abandoned",
    "outcome.missed": "Missed",
    "outcome.failed": "Failed",
    "outcome.transferred": "Transferred",
  },

  zh: {
    "app.name": "远程虚拟窗口",
    "app.tagline": "企业远程办事 · 一呼两秒应答专区",
    "app.center": "政务服务中心",
    "lang.switch": "English",
    "lang.label": "语言",
    "common.loading": "加载中…",
    "common.error": "错误",
    "common.dismiss": "关闭",
    "common.none": "—",
    "common.seconds": "{n} 秒",
    "common.minutes": "{n} 分钟",

    "caller.step1": "1. 选择办理事项",
    "caller.service": "办理事项",
    "caller.service.ph": "按事项名称、英文名称或编码搜索",
    "caller.service.hint": "输入要办理事项的关键字，然后从列表中选择。",
    "caller.service.none": "没有匹配的事项。",
    "caller.service.results": "匹配的办理事项",
    "caller.service.selected": "已选择",
    "caller.step2": "2. 填写信息",
    "caller.company": "企业名称",
    "caller.name": "姓名",
    "caller.phone": "联系电话",
    "caller.remember": "您的信息仅保存在本设备上。",
    "caller.step3": "3. 摄像头和麦克风",
    "caller.device.hint": "请确认能看到自己的画面。连接已提前准备，坐席可立即接听。",
    "caller.device.retry": "重新打开摄像头",
    "caller.call": "呼叫",
    "caller.call.need": "请先选择办理事项并填写姓名。",
    "caller.waiting": "正在等待坐席接听",
    "caller.position": "排队位置",
    "caller.estimated": "预计等待",
    "caller.cancel": "取消",
    "caller.session": "会话编号",
    "caller.connected": "已接通",
    "caller.specialist": "坐席",
    "caller.hangup": "挂断",
    "caller.mute": "静音",
    "caller.camera": "摄像头",
    "caller.unmute.audio": "点击收听坐席声音",
    "caller.ended": "会话已结束",
    "caller.rate": "您对本次服务是否满意？",
    "caller.rate.legend": "满意度",
    "caller.rate.1": "非常不满意",
    "caller.rate.2": "不满意",
    "caller.rate.3": "一般",
    "caller.rate.4": "满意",
    "caller.rate.5": "非常满意",
    "caller.rate.comment": "意见（选填）",
    "caller.rate.submit": "提交评价",
    "caller.rate.thanks": "感谢您的评价。",
    "caller.again": "再次呼叫",
    "caller.status.idle": "可以呼叫",
    "caller.status.requesting": "正在呼叫…",
    "caller.status.queued": "排队中",
    "caller.status.connected": "通话中",
    "caller.status.ended": "已结束",
    "caller.selfview": "本人画面",
    "caller.remoteview": "坐席画面",

    "reason.caller_hangup": "您已挂断。",
    "reason.specialist_hangup": "坐席已结束会话。",
    "reason.abandoned": "呼叫已取消。",
    "reason.missed": "暂无坐席接听，请稍后再试。",
    "reason.failed": "音视频连接未能建立。",
    "reason.other": "原因：{reason}",
    "reason.caller_left": "呼叫已取消。",
    "reason.media_timeout": "音视频连接未能建立。",
    "reason.caller_disconnected": "连接已断开。",
    "reason.specialist_disconnected": "坐席连接中断，请重新呼叫。",
    "reason.server_shutdown": "服务已重启，请重新呼叫。",
    "reason.max_wait": "暂无坐席接听，请稍后再试。",

    "leg.label": "连接",
    "leg.new": "准备中",
    "leg.connecting": "连接中",
    "leg.connected": "就绪",
    "leg.disconnected": "已中断",
    "leg.failed": "失败",
    "leg.closed": "已关闭",
    "leg.nomedia": "无法使用摄像头或麦克风：{message}",

    "chat.title": "文字消息",
    "chat.message": "消息",
    "chat.send": "发送",
    "chat.you": "我",
    "chat.caller": "来电人",
    "chat.specialist": "坐席",

    "login.title": "工作人员登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.logout": "退出登录",
    "login.bad": "用户名或密码错误。",
    "login.role.specialist": "此页面供坐席使用，请使用坐席账号登录。",
    "login.role.admin": "此页面供管理员使用，请使用管理员账号登录。",

    "console.title": "坐席工作台",
    "console.state": "状态",
    "console.ready": "就绪",
    "console.away": "离开",
    "console.auto": "自动接听",
    "console.signed": "当前用户",
    "console.idle": "暂无会话。点击“就绪”开始接听。",
    "console.idle.ready": "等待来电…",
    "console.offer": "新来电",
    "console.accept": "接听",
    "console.decline": "拒接",
    "console.caller": "来电人",
    "console.company": "企业",
    "console.phone": "电话",
    "console.item": "办理事项",
    "console.waited": "已等待",
    "console.countdown": "剩余应答时间",
    "console.incall": "通话中",
    "console.hangup": "挂断",
    "console.mute": "静音",
    "console.camera": "摄像头",
    "console.wrapup": "话后处理",
    "console.endedby.caller": "来电人挂断",
    "console.endedby.specialist": "本人挂断",
    "console.endedby.system": "系统结束",
    "console.notes": "备注",
    "console.disposition": "处理结果",
    "console.difficulty": "难度",
    "console.finish": "完成话后处理",
    "console.selfview": "本人画面",
    "console.remoteview": "来电人画面",
    "disp.resolved": "已解决",
    "disp.needs_follow_up": "需跟进",
    "disp.referred": "已转办",
    "disp.not_eligible": "不符合条件",
    "disp.other": "其他",
    "state.offline": "离线",
    "state.ready": "就绪",
    "state.away": "离开",
    "state.ringing": "振铃",
    "state.busy": "通话中",
    "state.wrap_up": "话后处理",
    "state.connecting": "连接中",

    "admin.title": "管理后台",
    "admin.metrics": "统计概览",
    "admin.offered": "呼入",
    "admin.answered": "接听",
    "admin.abandoned": "放弃",
    "admin.missed": "未接",
    "admin.sl": "服务水平（2 秒）",
    "admin.asa": "平均应答时长",
    "admin.aht": "平均处理时长",
    "admin.connect": "接通时长 p50 / p90 / p99",
    "admin.live": "实时",
    "admin.live.waiting": "排队",
    "admin.live.ready": "就绪坐席",
    "admin.live.busy": "通话坐席",
    "admin.sessions": "会话记录",
    "admin.refresh": "刷新",
    "admin.csv": "下载 CSV",
    "admin.filter.outcome": "结果",
    "admin.filter.item": "事项编码",
    "admin.filter.all": "全部",
    "admin.total": "共 {n} 条会话",
    "admin.prev": "上一页",
    "admin.next": "下一页",
    "admin.col.id": "会话",
    "admin.col.created": "发起",
    "admin.col.offered": "派单",
    "admin.col.answered": "接听",
    "admin.col.media": "媒体接通",
    "admin.col.ended": "结束",
    "admin.col.item": "办理事项",
    "admin.col.caller": "来电人",
    "admin.col.specialist": "坐席",
    "admin.col.outcome": "结果",
    "admin.col.wait": "等待 ms",
    "admin.col.connect": "接通 ms",
    "admin.col.talk": "通话 s",
    "admin.col.rating": "满意度",
    "admin.col.reason": "结束原因",
    "admin.empty": "暂无会话记录。",
    "admin.detail": "会话详情",
    "admin.events": "事件",
    "admin.recordings": "录像",
    "admin.close": "关闭",
    "outcome.answered": "已接听",
    "outcome.abandoned": "已放弃",
    "outcome.missed": "未接",
    "outcome.failed": "失败",
    "outcome.transferred": "已转接",
  },
};

const KEY = "vw.lang";

function initialLang() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "en" || saved === "zh") return saved;
  } catch (_) { /* storage disabled */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang = initialLang();
const listeners = new Set();

export function getLang() {
  return lang;
}

/** Translate `key`, substituting {name} placeholders from `vars`. */
export function t(key, vars) {
  let s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** Apply translations to every marked element under `root`. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
}

export function setLang(next) {
  lang = next === "zh" ? "zh" : "en";
  try { localStorage.setItem(KEY, lang); } catch (_) { /* storage disabled */ }
  applyI18n();
  for (const fn of listeners) fn(lang);
}

/** Called after every language change (for text built by scripts). */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Wire a button that toggles between the two languages. */
export function bindLangSwitch(button) {
  button.addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
}

/** Format an ISO timestamp in local time with milliseconds. */
export function fmtTime(iso) {
  if (!iso) return t("common.none");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return t("common.none");
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("common.seconds", { n: s });
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
