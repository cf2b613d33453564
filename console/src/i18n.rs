//! The console's two languages, English and Simplified Chinese.
//!
//! Every piece of interface text is a [`Msg`]; [`text`] matches on `(locale, msg)`, so a message
//! missing a translation does not compile. Texts with blanks use `{name}` placeholders that
//! [`fill`] replaces; a unit test checks both languages use the same placeholders.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// Picks a locale from a BCP 47 tag such as the browser's `navigator.language`.
    pub fn from_tag(tag: &str) -> Locale {
        let lower = tag.trim().to_ascii_lowercase();
        if lower == "zh" || lower.starts_with("zh-") || lower.starts_with("zh_") {
            Locale::ZhCn
        } else {
            Locale::En
        }
    }

    /// The tag stored in preferences and set on `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, for the language switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhCn => "简体中文",
        }
    }
}

macro_rules! messages {
    ($($key:ident => $en:literal, $zh:literal;)+) => {
        /// A piece of interface text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key),+ }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$key),+];
        }

        /// The text of `msg` in `locale`.
        pub fn text(locale: Locale, msg: Msg) -> &'static str {
            match (locale, msg) {
                $((Locale::En, Msg::$key) => $en, (Locale::ZhCn, Msg::$key) => $zh,)+
            }
        }
    };
}

/// Replaces `{name}` placeholders in a text.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

messages! {
    // Shell and navigation
    AppName => "EdgeDesk", "EdgeDesk";
    NavInbox => "Inbox", "收件箱";
    NavTickets => "Tickets", "工单";
    NavSettings => "Settings", "设置";
    NavShortcuts => "Keyboard shortcuts", "键盘快捷键";
    SignOut => "Sign out", "退出登录";
    Language => "Language", "语言";
    Loading => "Loading…", "加载中…";
    Retry => "Retry", "重试";
    Cancel => "Cancel", "取消";
    Save => "Save", "保存";
    Saved => "Saved", "已保存";
    Close => "Close", "关闭";
    Copy => "Copy", "复制";
    Copied => "Copied to the clipboard", "已复制到剪贴板";
    CopyFailed => "Copying failed: select the text and copy it by hand", "复制失败：请手动选中文本复制";
    Create => "Create", "创建";
    Back => "Back", "返回";
    LoadMore => "Load more", "加载更多";
    Nothing => "None", "无";
    Unassigned => "Unassigned", "未分配";
    You => "you", "你";
    Offline => "You are offline. Changes will fail until the connection is back.", "网络已断开。恢复连接前，所有更改都会失败。";

    // Errors
    ErrForbidden => "Your role ({role}) does not allow this. Ask an admin or the owner of this workspace.", "你的角色（{role}）无权执行此操作。请联系本工作区的管理员或所有者。";
    ErrNotFound => "This no longer exists. It may have been deleted.", "该内容已不存在，可能已被删除。";
    ErrStale => "Someone else changed this in the meantime. The latest version is shown; make your change again.", "其他人刚刚修改了这里。已显示最新版本，请重新操作。";
    ErrNetwork => "Could not reach EdgeDesk. Check your connection and try again.", "无法连接 EdgeDesk。请检查网络后重试。";
    ErrServer => "EdgeDesk could not do this right now ({message}). Try again in a moment.", "EdgeDesk 暂时无法完成此操作（{message}）。请稍后重试。";
    ErrSessionEnded => "Your session has ended. Sign in again to continue.", "会话已结束，请重新登录。";

    // Sign-in and account
    SignInTitle => "Sign in to EdgeDesk", "登录 EdgeDesk";
    SignInLead => "Answer your customers from one inbox.", "在一个收件箱里回复所有客户。";
    Email => "Email", "邮箱";
    Password => "Password", "密码";
    SignIn => "Sign in", "登录";
    SigningIn => "Signing in…", "正在登录…";
    WrongCredentials => "Wrong email or password.", "邮箱或密码错误。";
    TooManyAttempts => "Too many failed sign-ins. Wait 15 minutes and try again.", "登录失败次数过多，请等待 15 分钟后再试。";
    SetupTitle => "Create your workspace", "创建你的工作区";
    SetupLead => "You are the first person here: this creates the workspace and its owner account.", "你是第一位用户：这会创建工作区及其所有者账号。";
    WorkspaceName => "Workspace name", "工作区名称";
    YourName => "Your name", "你的姓名";
    PasswordHint => "At least 10 characters.", "至少 10 个字符。";
    CreateWorkspace => "Create workspace", "创建工作区";
    SetupLinkUsed => "This setup link is invalid, expired or already used. Sign in, or restart the host to get a new link.", "此设置链接无效、已过期或已被使用。请直接登录，或重启主机获取新链接。";
    InviteTitle => "Join your team on EdgeDesk", "加入 EdgeDesk 团队";
    InviteLead => "Choose a password to finish setting up your account.", "设置密码以完成账号创建。";
    ChoosePassword => "Choose a password", "设置密码";
    AcceptInvite => "Set password and sign in", "设置密码并登录";
    InviteUsed => "This invitation is invalid, expired or already used. Ask an admin for a new one.", "此邀请无效、已过期或已被使用。请向管理员索取新的邀请。";
    ChangePassword => "Change password", "修改密码";
    CurrentPassword => "Current password", "当前密码";
    NewPassword => "New password", "新密码";
    PasswordChanged => "Password changed. Your other sessions were signed out.", "密码已修改，其他会话已退出登录。";
    WrongCurrentPassword => "The current password is wrong.", "当前密码错误。";

    // Inbox
    InboxMine => "Mine", "我的";
    InboxUnassigned => "Unassigned", "未分配";
    InboxTeam => "Team", "团队";
    InboxAll => "All", "全部";
    TeamName => "Team name", "团队名称";
    StatusAny => "Any status", "所有状态";
    StatusOpen => "Open", "处理中";
    StatusPending => "Pending", "等待中";
    StatusSnoozed => "Snoozed", "已暂停";
    StatusResolved => "Resolved", "已解决";
    InboxLoading => "Loading conversations…", "正在加载会话…";
    InboxEmptyMine => "Nothing assigned to you here. Pick up a conversation from Unassigned.", "这里没有分配给你的会话。可以去“未分配”中领取会话。";
    InboxEmptyUnassigned => "Every conversation here has an owner. Nice work.", "这里的会话都已分配。干得好！";
    InboxEmptyTeam => "No conversations for this team here. Type another team name, or choose All.", "该团队在此没有会话。换一个团队名称，或选择“全部”。";
    InboxEmptyAll => "No conversations yet. When a visitor writes through the chat widget, the conversation appears here at once. Find the widget snippet under Settings → Channels.", "还没有会话。访客通过聊天窗口发来消息后会立即出现在这里。聊天窗口代码见“设置 → 渠道”。";
    InboxEmptyStatus => "No conversations with this status. Try another status filter.", "没有该状态的会话。试试其他状态筛选。";
    InboxError => "Conversations could not be loaded: {message}", "无法加载会话：{message}";
    Live => "Live", "实时";
    Reconnecting => "Reconnecting…", "正在重新连接…";
    UnreadCount => "{n} unread", "{n} 条未读";
    NoMessagesYet => "No messages yet", "暂无消息";
    Visitor => "Visitor", "访客";
    SelectConversation => "Select a conversation on the left, or press j / k to move and Enter to open.", "在左侧选择一个会话，或按 j / k 移动、回车打开。";
    ConversationsHeading => "Conversations", "会话";

    // Conversation view
    ConvLoading => "Loading the conversation…", "正在加载会话…";
    ConvError => "This conversation could not be loaded: {message}", "无法加载此会话：{message}";
    Reply => "Reply", "回复";
    Note => "Private note", "内部备注";
    ReplyPlaceholder => "Write a reply to the visitor… (Enter to send, Shift+Enter for a new line)", "回复访客…（回车发送，Shift+回车换行）";
    NotePlaceholder => "Write a note only your team can see…", "写一条仅团队可见的备注…";
    Send => "Send", "发送";
    AddNote => "Add note", "添加备注";
    Sending => "Sending…", "发送中…";
    NoteBadge => "Note", "备注";
    ViewerNotice => "Your role ({role}) can read conversations but not reply or change them.", "你的角色（{role}）只能查看会话，不能回复或修改。";
    VisitorTyping => "{name} is typing…", "{name} 正在输入…";
    SeenByVisitor => "Seen", "已读";
    AssignTo => "Assignee", "负责人";
    AssignToMe => "Assign to me", "分配给我";
    Team => "Team", "团队";
    NoTeam => "No team", "无团队";
    Status => "Status", "状态";
    Resolve => "Resolve", "解决";
    Reopen => "Reopen", "重新打开";
    Snooze => "Snooze", "暂停";
    SnoozeUntil => "Snoozed until {time}", "暂停至 {time}";
    SnoozeOneHour => "For 1 hour", "1 小时";
    SnoozeTomorrow => "Until tomorrow 9:00", "到明天 9:00";
    SnoozeNextWeek => "Until Monday 9:00", "到下周一 9:00";
    SnoozeCustom => "Until…", "自定义时间…";
    SnoozeInPast => "Pick a time in the future.", "请选择一个将来的时间。";
    Priority => "Priority", "优先级";
    PriorityUrgent => "Urgent", "紧急";
    PriorityHigh => "High", "高";
    PriorityNormal => "Normal", "普通";
    PriorityLow => "Low", "低";
    Labels => "Labels", "标签";
    AddLabel => "Add label", "添加标签";
    LabelHint => "Letters, digits and - _ : . / only", "仅限字母、数字和 - _ : . /";
    RemoveLabel => "Remove label {label}", "移除标签 {label}";
    ConvertToTicket => "Convert to ticket", "转为工单";
    TicketCreated => "Ticket #{n} created", "已创建工单 #{n}";
    Subject => "Subject", "主题";
    Description => "Description", "描述";
    CreateTicket => "Create ticket", "创建工单";
    Contact => "Contact", "联系人";
    ContactLoading => "Loading contact…", "正在加载联系人…";
    Phone => "Phone", "电话";
    ExternalId => "External id", "外部 ID";
    Attributes => "Attributes", "属性";
    Channel => "Channel", "渠道";
    Started => "Started", "开始时间";
    ContactTickets => "Tickets of this contact", "该联系人的工单";
    NoTickets => "No tickets yet.", "暂无工单。";
    Details => "Details", "详情";
    HideDetails => "Hide details", "隐藏详情";
    Updated => "Updated", "已更新";
    Attachment => "Attachment", "附件";
    System => "System", "系统";
    Bot => "Bot", "机器人";
    EarlierMessages => "Load earlier messages", "加载更早的消息";

    // Tickets
    TicketsHeading => "Tickets", "工单";
    SearchTickets => "Search subject or number", "搜索主题或编号";
    TicketsLoading => "Loading tickets…", "正在加载工单…";
    TicketsEmpty => "No tickets match these filters. Clear the search or choose another status.", "没有符合筛选条件的工单。请清空搜索或选择其他状态。";
    TicketsEmptyAll => "No tickets yet. Convert a conversation to a ticket from its header, or create tickets through the API.", "还没有工单。可在会话顶部将会话转为工单，或通过 API 创建。";
    TicketsError => "Tickets could not be loaded: {message}", "无法加载工单：{message}";
    TicketStatusNew => "New", "新建";
    TicketStatusOpen => "Open", "处理中";
    TicketStatusPending => "Pending", "等待中";
    TicketStatusOnHold => "On hold", "搁置";
    TicketStatusSolved => "Solved", "已解决";
    TicketStatusClosed => "Closed", "已关闭";
    AnyPriority => "Any priority", "所有优先级";
    AnyAssignee => "Anyone", "所有人";
    Tags => "Tags", "标签";
    TagsHint => "Separate tags with spaces", "用空格分隔标签";
    Requester => "Requester", "请求人";
    OpenConversation => "Open conversation", "打开会话";
    Timeline => "Timeline", "时间线";
    TimelineEmpty => "No history yet.", "暂无记录。";
    TicketLoading => "Loading the ticket…", "正在加载工单…";
    TicketError => "This ticket could not be loaded: {message}", "无法加载此工单：{message}";
    SelectTicket => "Select a ticket to see its details and history.", "选择一个工单查看详情和历史记录。";
    EventCreated => "created the ticket", "创建了工单";
    EventUpdated => "changed", "修改了";
    EventOther => "recorded {kind}", "记录了 {kind}";
    Number => "No.", "编号";

    // SLA clocks, list order, merging and duplicates
    SlaHeading => "SLA", "SLA";
    SlaRunning => "On track", "进行中";
    SlaWarning => "Warning", "即将超时";
    SlaBreached => "Breached", "已超时";
    SlaPaused => "Paused", "已暂停";
    SlaMet => "Met", "已达成";
    SlaDue => "due {time}", "截止 {time}";
    SlaLeft => "{n} min left", "剩余 {n} 分钟";
    SlaOverdue => "{n} min overdue", "超时 {n} 分钟";
    SlaCompleted => "completed {time}", "完成于 {time}";
    SlaPolicy => "Policy: {policy}", "策略：{policy}";
    SlaNone => "No SLA policy applies.", "没有适用的 SLA 策略。";
    SlaError => "The SLA could not be loaded: {message}", "无法加载 SLA：{message}";
    TargetFirstResponse => "First response", "首次响应";
    TargetNextResponse => "Next response", "下次响应";
    TargetResolution => "Resolution", "解决";
    SortBy => "Sort", "排序";
    SortNewest => "Newest first", "最新优先";
    SortActivity => "Last activity", "最近活动";
    SortSlaDue => "SLA due first", "SLA 截止最早优先";
    SlaAny => "Any SLA state", "任意 SLA 状态";
    SlaOnlyBreached => "SLA breached", "SLA 已超时";
    SlaOnlyWarning => "SLA warning", "SLA 即将超时";
    SlaSortedEmpty => "Nothing here has a running SLA deadline with these filters.", "在这些筛选条件下，没有正在计时的 SLA 截止时间。";
    MergeInto => "Merge into…", "合并到…";
    MergeSearch => "Ticket number or subject", "工单编号或主题";
    MergeNoMatch => "No other open ticket matches. Try another number or word.", "没有匹配的其他工单。请换个编号或关键词。";
    MergeConfirm => "Merge #{from} into #{into}? Its messages, history, tags and watchers move there and #{from} is closed.", "将 #{from} 合并到 #{into}？其消息、历史、标签和关注者将移到该工单，#{from} 将被关闭。";
    Merge => "Merge", "合并";
    MergeIntoNumber => "Merge into #{number}", "合并到 #{number}";
    MergeDone => "Merged into #{number}", "已合并到 #{number}";
    MergedInto => "This ticket was merged into", "此工单已合并到";
    EventMerged => "merged a ticket into this one:", "将一个工单合并到此工单：";
    Duplicates => "Possible duplicates", "可能重复的工单";
    DuplicateScore => "similarity {score}%", "相似度 {score}%";

    // Settings
    SettingsHeading => "Settings", "设置";
    TabProfile => "Profile", "个人资料";
    TabAgents => "Agents & roles", "客服与角色";
    TabKeys => "API keys", "API 密钥";
    TabChannels => "Channels", "渠道";
    TabWidget => "Chat widget", "聊天窗口";
    SignedInAs => "Signed in as {name} ({email}), role {role}, workspace {tenant}.", "当前登录：{name}（{email}），角色 {role}，工作区 {tenant}。";
    Agents => "Agents", "客服";
    Name => "Name", "名称";
    Role => "Role", "角色";
    RoleOwner => "Owner", "所有者";
    RoleAdmin => "Admin", "管理员";
    RoleAgent => "Agent", "客服";
    RoleViewer => "Viewer", "只读";
    Active => "Active", "启用";
    Deactivated => "Deactivated", "已停用";
    Deactivate => "Deactivate", "停用";
    Activate => "Activate", "启用";
    AddAgent => "Add agent", "添加客服";
    Invite => "Invite link", "邀请链接";
    InviteLinkFor => "Send this one-time link to {name}. It works for 7 days.", "把这个一次性链接发给 {name}，7 天内有效。";
    AgentsEmpty => "Only you so far. Add your teammates and send them an invite link.", "目前只有你。添加同事并发送邀请链接。";
    ApiKeys => "API keys", "API 密钥";
    KeysLead => "Keys let your own systems call the EdgeDesk API. Send them as `Authorization: Bearer <key>`.", "API 密钥用于你自己的系统调用 EdgeDesk API，请求头格式为 `Authorization: Bearer <key>`。";
    Scope => "Scope", "权限范围";
    ScopeAdmin => "Admin", "管理员";
    ScopeAgent => "Agent", "客服";
    ScopeReadOnly => "Read only", "只读";
    CreateKey => "Create key", "创建密钥";
    KeyShownOnce => "Copy this key now. It is shown only once; EdgeDesk keeps only a hash of it.", "请立即复制此密钥。它只显示这一次，EdgeDesk 只保存其哈希值。";
    Revoke => "Revoke", "吊销";
    Revoked => "Revoked", "已吊销";
    RevokeConfirm => "Revoke key {name}? Calls using it stop working at once.", "确定吊销密钥 {name}？使用它的调用会立即失效。";
    KeysEmpty => "No API keys yet. Create one to connect your own systems.", "还没有 API 密钥。创建一个以连接你自己的系统。";
    Prefix => "Prefix", "前缀";
    Created => "Created", "创建时间";
    WidgetSnippet => "Website chat widget", "网站聊天窗口";
    WidgetSnippetLead => "Paste this snippet before </body> on every page where visitors should be able to chat.", "将这段代码粘贴到需要聊天功能的每个页面的 </body> 之前。";
    ApiChannels => "API channels", "API 渠道";
    ApiChannelsLead => "Your own systems post customer messages to a channel's inbound URL, signed with its secret.", "你的系统用渠道密钥签名后，将客户消息发送到渠道的接收地址。";
    CreateChannel => "Create channel", "创建渠道";
    ChannelSecretOnce => "Copy this signing secret now. It is shown only once.", "请立即复制此签名密钥，它只显示这一次。";
    InboundUrl => "Inbound URL", "接收地址";
    ChannelsEmpty => "No API channels yet.", "还没有 API 渠道。";
    WidgetLead => "How the chat widget looks and where it may be embedded.", "聊天窗口的外观以及允许嵌入的网站。";
    Color => "Colour", "颜色";
    WidgetLocale => "Widget language", "聊天窗口语言";
    LocaleAuto => "Visitor's browser language", "跟随访客浏览器语言";
    AllowedOrigins => "Allowed origins", "允许的来源";
    AllowedOriginsHint => "One per line, like https://shop.example. Leave empty to allow every site.", "每行一个，例如 https://shop.example。留空表示允许所有网站。";
    PrechatEnabled => "Ask for name and email before the chat starts", "开始聊天前询问姓名和邮箱";
    PrechatRequireEmail => "Email is required", "邮箱必填";
    AwayMessage => "Away message", "离线提示";
    AwayMessageHint => "Shown when no agent is online.", "没有客服在线时显示。";

    // Shortcuts help
    ShortcutsTitle => "Keyboard shortcuts", "键盘快捷键";
    KeyNextPrev => "Next / previous item", "下一项 / 上一项";
    KeyOpen => "Open the selected item", "打开所选项";
    KeyReply => "Reply", "回复";
    KeyNote => "Private note", "内部备注";
    KeyResolve => "Resolve the conversation", "解决会话";
    KeyAssignMe => "Assign to me", "分配给我";
    KeySend => "Send the reply or note", "发送回复或备注";
    KeyGoInbox => "Go to the inbox", "前往收件箱";
    KeyGoTickets => "Go to tickets", "前往工单";
    KeyGoSettings => "Go to settings", "前往设置";
    KeySearch => "Search tickets", "搜索工单";
    KeyHelp => "Show this help", "显示此帮助";
    KeyEscape => "Close, or leave the text field", "关闭，或离开输入框";
    Then => "then", "然后";

    // Bot, canned responses, reports
    TabBot => "Bot", "机器人";
    TabCanned => "Canned responses", "快捷回复";
    TabReports => "Reports", "报表";
    BotEnabled => "The bot answers new chats", "机器人接待新会话";
    Intents => "Intents", "意图";
    IntentsEmpty => "No intents yet. Add one below with a few example phrases.", "还没有意图。请在下方添加，并提供几条示例语句。";
    IntentId => "Intent id (a-z, 0-9, -, _)", "意图 ID（a-z、0-9、-、_）";
    Examples => "Example phrases, one per line", "示例语句（每行一条）";
    ExamplesRequired => "Give at least one example phrase.", "请至少填写一条示例语句。";
    ExampleCount => "{count} examples", "{count} 条示例";
    Threshold => "Confidence threshold", "置信度阈值";
    ThresholdHint => "0 to 1; below it the intent is not recognised (empty: 0.30).", "0 到 1；低于该值不识别为此意图（留空为 0.30）。";
    ThresholdInvalid => "The threshold must be a number from 0 to 1.", "阈值必须是 0 到 1 之间的数字。";
    IntentReply => "Bot reply", "机器人回复";
    IntentHandoff => "Hand the chat to a person after replying", "回复后转交人工";
    NewIntent => "New intent", "新建意图";
    EditIntent => "Edit intent", "编辑意图";
    Edit => "Edit", "编辑";
    Delete => "Delete", "删除";
    DeleteConfirm => "Delete {name}?", "删除 {name}？";
    Saving => "Saving…", "正在保存…";
    TryBot => "Try it", "试一试";
    TryBotPhrase => "A visitor writes", "访客输入";
    TryBotRun => "Detect", "识别";
    BelowThreshold => "none (best guess {best}, below its threshold)", "无（最接近 {best}，低于阈值）";
    NoIntent => "none", "无";
    DetectedIntent => "Intent", "意图";
    DetectedGuess => "Guess", "猜测";
    Confidence => "Confidence", "置信度";
    Entities => "Entities", "实体";
    Sentiment => "Sentiment", "情绪";
    SentimentNegative => "Negative", "负面";
    SentimentNeutral => "Neutral", "中性";
    SentimentPositive => "Positive", "正面";
    HandoffReason => "Handed off", "已转人工";
    CannedLead => "Saved replies agents insert by typing / and the shortcode in the reply box.", "客服在回复框输入 / 加快捷码即可插入的预设回复。";
    CannedEmpty => "No canned responses yet. Add one below.", "还没有快捷回复。请在下方添加。";
    CannedHeading => "Canned responses", "快捷回复";
    CannedNoMatch => "No canned response matches. Keep typing or press Escape.", "没有匹配的快捷回复。请继续输入或按 Esc。";
    Shortcode => "Shortcode", "快捷码";
    Title => "Title", "标题";
    CannedBody => "Text", "内容";
    CannedBodyHint => "Variables such as {{contact.name}} are filled in for each conversation.", "{{contact.name}} 等变量会按会话自动填写。";
    NewCanned => "New canned response", "新建快捷回复";
    EditCanned => "Edit canned response", "编辑快捷回复";
    CsatHeading => "Customer satisfaction", "客户满意度";
    CsatAverage => "Average rating", "平均评分";
    CsatCount => "Ratings", "评分数";
    CsatSatisfied => "Satisfied (4–5)", "满意（4–5 分）";
    CsatDistribution => "Ratings by stars", "按星级分布";
    CsatNone => "No ratings yet.", "还没有评分。";
    ReportTruncated => "Only the most recent ratings are counted.", "仅统计最近的评分。";

    // Email: the channel settings, mail in the thread, delivery, Cc and Bcc
    TabEmail => "Email", "邮件";
    EmailLead => "Mail to your support addresses becomes conversations; replies go out from the sender address through the transport you choose.", "发往支持邮箱的邮件会成为会话；回复通过你选择的发送方式，从发件地址发出。";
    EmailChannels => "Email channels", "邮件渠道";
    EmailChannelsEmpty => "No email channels yet. Create one below with the addresses your customers write to.", "还没有邮件渠道。请在下方用客户来信的地址创建一个。";
    NewEmailChannel => "New email channel", "新建邮件渠道";
    EditEmailChannel => "Edit {name}", "编辑 {name}";
    SupportAddresses => "Support addresses", "支持邮箱";
    SupportAddressesHint => "One per line, like support@acme.example.", "每行一个，例如 support@acme.example。";
    SenderName => "Sender name", "发件人名称";
    SenderNameHint => "Shown with the sender address, like Acme Support.", "与发件地址一起显示，例如 Acme Support。";
    SenderAddress => "Sender address", "发件地址";
    Transport => "Sending through", "发送方式";
    TransportSmtp => "SMTP server", "SMTP 服务器";
    TransportMailgun => "Mailgun", "Mailgun";
    TransportCloudflare => "Cloudflare Email Routing", "Cloudflare 邮件路由";
    SmtpHost => "Host", "主机";
    SmtpPort => "Port", "端口";
    SmtpSecurity => "Security", "加密方式";
    SecurityStarttls => "STARTTLS (port 587)", "STARTTLS（端口 587）";
    SecurityTls => "TLS (port 465)", "TLS（端口 465）";
    SecurityNone => "None (a relay on your own network only)", "不加密（仅限内网中继）";
    Username => "Username", "用户名";
    SecretKeep => "One is stored. Leave empty to keep it.", "已保存。留空则保留原值。";
    MailgunRegion => "Region", "区域";
    MailgunUs => "US (api.mailgun.net)", "美国（api.mailgun.net）";
    MailgunEu => "EU (api.eu.mailgun.net)", "欧盟（api.eu.mailgun.net）";
    MailgunDomain => "Sending domain", "发信域名";
    ApiKey => "API key", "API 密钥";
    Binding => "Binding name", "绑定名称";
    BindingHint => "The Worker's send_email binding.", "Worker 的 send_email 绑定。";
    CreateTicketsOption => "Open a ticket for each new thread", "每个新邮件会话都创建工单";
    PortInvalid => "The port must be a number from 1 to 65535.", "端口必须是 1 到 65535 之间的数字。";
    EmailSecretOnce => "Copy the inbound signing secret now. It is shown only once.", "请立即复制接收签名密钥，它只显示这一次。";
    InboundWebhook => "Inbound webhook", "接收 Webhook";
    InboundWebhookLead => "A mail provider may post each raw mail (message/rfc822) to this URL, signed with the channel's secret in X-EdgeDesk-Signature.", "邮件服务商可以将原始邮件（message/rfc822）发送到此地址，并在 X-EdgeDesk-Signature 中用渠道密钥签名。";
    DnsHeading => "DNS records", "DNS 记录";
    DnsLead => "Publish these records for the sending domain, so that receivers trust the mail you send.", "请为发信域名发布以下记录，收件方才会信任你发出的邮件。";
    DnsPurpose => "Purpose", "用途";
    DnsType => "Type", "类型";
    DnsValue => "Value", "值";
    DnsNote => "Note", "说明";
    TestSend => "Send a test mail", "发送测试邮件";
    TestRecipient => "Recipient", "收件人";
    TestSendButton => "Send test", "发送测试";
    TestSent => "Sent. The server answered: {response}", "已发送。服务器回复：{response}";
    TestSentPlain => "Sent.", "已发送。";
    TestFailed => "Not sent: {error}", "未发送：{error}";
    ParkedHeading => "Parked mail", "搁置的邮件";
    ParkedLead => "Automatic replies, bulk mail and bounces are kept here instead of becoming conversations.", "自动回复、群发邮件和退信保存在这里，不会成为会话。";
    ParkedEmpty => "No parked mail.", "没有搁置的邮件。";
    Reason => "Reason", "原因";
    From => "From", "发件人";
    To => "To", "收件人";
    Cc => "Cc", "抄送";
    Bcc => "Bcc", "密送";
    CcBcc => "Cc/Bcc", "抄送/密送";
    CcHint => "Addresses, separated by commas", "多个地址用逗号分隔";
    Received => "Received", "收到时间";
    ShowOriginal => "Show original", "查看原始邮件";
    ParkAutoReply => "Automatic reply", "自动回复";
    ParkBulk => "Bulk or list mail", "群发或邮件列表";
    ParkBounce => "Bounce", "退信";
    ParkRateLimited => "Too many mails from the sender", "发件人来信过多";
    BouncesHeading => "Bouncing addresses", "退信地址";
    BouncesLead => "Replies are not sent to an address that bounced for good until you clear it.", "永久退信的地址在清除之前不会再收到回复。";
    BouncesEmpty => "No address bounces.", "没有退信的地址。";
    Address => "Address", "地址";
    Permanent => "Permanent", "永久";
    Temporary => "Temporary", "临时";
    Since => "Since", "时间";
    ClearBounce => "Clear", "清除";
    DeliveryQueued => "Queued", "排队中";
    DeliveryRetrying => "Retrying ({n} tries so far)", "重试中（已尝试 {n} 次）";
    DeliverySent => "Sent", "已发送";
    DeliveryFailed => "Not delivered", "未送达";
    DeliveryFailedBecause => "Not delivered: {reason}", "未送达：{reason}";
    EmailNotifications => "Email notifications", "邮件通知";
    NotifyAssigned => "A conversation is assigned to me", "有会话分配给我";
    NotifyMention => "Someone mentions me in a private note", "有人在内部备注中提到我";
    NotifySlaWarning => "An SLA warning on my work", "我负责的工作即将超出 SLA";
    NotifyDigest => "A daily digest of my open work", "每日汇总我未完成的工作";
    NotificationsHint => "Mails leave through the workspace's first email channel.", "邮件通过工作区的第一个邮件渠道发出。";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_message_has_text_in_both_languages() {
        for msg in Msg::ALL {
            for locale in Locale::ALL {
                assert!(
                    !text(locale, *msg).trim().is_empty(),
                    "{msg:?} in {locale:?}"
                );
            }
        }
    }

    #[test]
    fn both_languages_use_the_same_placeholders() {
        for msg in Msg::ALL {
            assert_eq!(
                placeholders(text(Locale::En, *msg)),
                placeholders(text(Locale::ZhCn, *msg)),
                "{msg:?}"
            );
        }
    }

    #[test]
    fn chinese_browser_tags_pick_simplified_chinese() {
        for tag in ["zh", "zh-CN", "zh-Hans-CN", "ZH-cn", "zh_TW"] {
            assert_eq!(Locale::from_tag(tag), Locale::ZhCn, "{tag}");
        }
        for tag in ["en-US", "de", "", "zhx"] {
            assert_eq!(Locale::from_tag(tag), Locale::En, "{tag}");
        }
    }

    #[test]
    fn fill_replaces_every_named_blank() {
        assert_eq!(
            fill("{n} unread of {n}, by {who}", &[("n", "3"), ("who", "Ada")]),
            "3 unread of 3, by Ada"
        );
        assert_eq!(fill("no blanks", &[("n", "1")]), "no blanks");
    }
}
