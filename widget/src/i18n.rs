//! The widget's words in English and Simplified Chinese, and how the language is chosen.
//!
//! Order of precedence: the embedding tag's `data-locale`, then the tenant's configured
//! locale (unless `auto`), then the browser's `navigator.language`.

use alloc::string::String;

/// A language the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    /// Reads `zh`, `zh-CN`, `zh-Hans-SG`… as Chinese and `en…` as English; anything else is
    /// not a choice (`None`), so the next source decides.
    fn parse(tag: &str) -> Option<Locale> {
        // Byte comparisons rather than `split`: string patterns cost kilobytes of wasm.
        let b = tag.as_bytes();
        let primary = |lang: &[u8; 2]| {
            b.len() >= 2
                && b.iter()
                    .zip(lang)
                    .all(|(x, y)| x.to_ascii_lowercase() == *y)
                && b.get(2).is_none_or(|c| *c == b'-' || *c == b'_')
        };
        if primary(b"zh") {
            Some(Locale::ZhCn)
        } else if primary(b"en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// Picks the language from the sources in precedence order; English when none decides.
    pub fn pick(tag_attr: Option<&str>, tenant: Option<&str>, navigator: Option<&str>) -> Locale {
        [tag_attr, tenant.filter(|t| *t != "auto"), navigator]
            .into_iter()
            .flatten()
            .find_map(Locale::parse)
            .unwrap_or(Locale::En)
    }

    /// The BCP 47 tag for `lang=` attributes and date formatting.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The widget's words in this language.
    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::ZhCn => &ZH_CN,
        }
    }

    /// The visitor's place in the queue, with the estimated wait in minutes when known.
    pub fn queue(self, position: u64, wait_minutes: Option<u64>) -> String {
        let (before, after, wait, minutes) = match self {
            Locale::En => (
                "You are number ",
                " in the queue",
                ". Estimated wait: about ",
                " min.",
            ),
            Locale::ZhCn => ("您正在排队，第 ", " 位", "，预计等待约 ", " 分钟。"),
        };
        let mut s = String::from(before);
        s.push_str(&crate::api::num(position));
        s.push_str(after);
        match wait_minutes {
            Some(m) => {
                s.push_str(wait);
                s.push_str(&crate::api::num(m.max(1)));
                s.push_str(minutes);
            }
            None => s.push_str(if self == Locale::En { "." } else { "。" }),
        }
        s
    }

    /// "Usually replies within …" for an expected reply time in minutes.
    pub fn reply_time(self, minutes: u32) -> String {
        let (amount, hours) = if minutes >= 120 {
            (minutes.div_ceil(60), true)
        } else {
            (minutes.max(1), false)
        };
        let (before, after) = match (self, hours) {
            (Locale::En, false) => ("Usually replies within ", " min"),
            (Locale::En, true) => ("Usually replies within ", " h"),
            (Locale::ZhCn, false) => ("通常在 ", " 分钟内回复"),
            (Locale::ZhCn, true) => ("通常在 ", " 小时内回复"),
        };
        let mut s = String::from(before);
        s.push_str(&crate::api::num(u64::from(amount)));
        s.push_str(after);
        s
    }
}

/// Every visible or spoken (ARIA) string.
#[derive(Debug)]
pub struct Text {
    pub open: &'static str,
    pub close: &'static str,
    pub title: &'static str,
    pub online: &'static str,
    pub away: &'static str,
    pub messages: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub attach: &'static str,
    pub typing: &'static str,
    pub delivered: &'static str,
    pub seen: &'static str,
    pub sending: &'static str,
    pub not_sent: &'static str,
    pub you: &'static str,
    pub agent: &'static str,
    pub prechat: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub start: &'static str,
    pub identity_refused: &'static str,
    pub too_large: &'static str,
    pub bad_type: &'static str,
    pub upload_failed: &'static str,
    pub reconnecting: &'static str,
    pub unavailable: &'static str,
    pub unread: &'static str,
    pub rate: &'static str,
    pub stars: &'static str,
    pub comment: &'static str,
    pub rated: &'static str,
}

static EN: Text = Text {
    open: "Open chat",
    close: "Close chat",
    title: "Chat",
    online: "Online",
    away: "Away",
    messages: "Messages",
    placeholder: "Write a message…",
    send: "Send",
    attach: "Attach a file",
    typing: "Typing…",
    delivered: "Delivered",
    seen: "Seen",
    sending: "Sending…",
    not_sent: "Not sent",
    you: "You",
    agent: "Support",
    prechat: "Tell us how to reach you",
    name: "Name",
    email: "Email",
    start: "Start chat",
    identity_refused: "We could not verify who you are. Please sign in again.",
    too_large: "That file is too large.",
    bad_type: "That type of file cannot be sent.",
    upload_failed: "The file could not be sent.",
    reconnecting: "Reconnecting…",
    unavailable: "Chat is unavailable right now.",
    unread: "unread",
    rate: "How would you rate this conversation?",
    stars: " of 5",
    comment: "Anything to add? (optional)",
    rated: "Thank you for your rating!",
};

static ZH_CN: Text = Text {
    open: "打开聊天",
    close: "关闭聊天",
    title: "在线客服",
    online: "在线",
    away: "离开",
    messages: "消息",
    placeholder: "输入消息…",
    send: "发送",
    attach: "添加附件",
    typing: "正在输入…",
    delivered: "已送达",
    seen: "已读",
    sending: "发送中…",
    not_sent: "发送失败",
    you: "您",
    agent: "客服",
    prechat: "请留下您的联系方式",
    name: "姓名",
    email: "邮箱",
    start: "开始聊天",
    identity_refused: "无法验证您的身份，请重新登录。",
    too_large: "文件过大。",
    bad_type: "不支持此类文件。",
    upload_failed: "文件发送失败。",
    reconnecting: "正在重新连接…",
    unavailable: "聊天暂时不可用。",
    unread: "条未读",
    rate: "您对本次服务满意吗？",
    stars: " 星",
    comment: "补充说明（选填）",
    rated: "感谢您的评价！",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_line_gives_the_place_and_the_wait_when_known() {
        assert_eq!(
            Locale::En.queue(2, Some(3)),
            "You are number 2 in the queue. Estimated wait: about 3 min."
        );
        assert_eq!(Locale::En.queue(1, None), "You are number 1 in the queue.");
        assert_eq!(
            Locale::ZhCn.queue(3, Some(0)),
            "您正在排队，第 3 位，预计等待约 1 分钟。"
        );
    }

    #[test]
    fn the_embedding_tag_beats_tenant_and_browser() {
        assert_eq!(
            Locale::pick(Some("zh-CN"), Some("en"), Some("en-US")),
            Locale::ZhCn
        );
        assert_eq!(
            Locale::pick(Some("en"), Some("zh-CN"), Some("zh-CN")),
            Locale::En
        );
    }

    #[test]
    fn an_auto_tenant_locale_defers_to_the_browser() {
        assert_eq!(
            Locale::pick(None, Some("auto"), Some("zh-Hans-SG")),
            Locale::ZhCn
        );
        assert_eq!(
            Locale::pick(None, Some("zh-CN"), Some("en-GB")),
            Locale::ZhCn
        );
        assert_eq!(Locale::pick(None, None, Some("zh_TW")), Locale::ZhCn);
    }

    #[test]
    fn unknown_languages_fall_through_to_english() {
        assert_eq!(
            Locale::pick(Some("fr"), Some("auto"), Some("de-DE")),
            Locale::En
        );
        assert_eq!(Locale::pick(Some(""), None, None), Locale::En);
        assert_eq!(Locale::pick(Some("fr"), None, Some("ZH")), Locale::ZhCn);
    }

    #[test]
    fn reply_times_read_naturally_in_minutes_or_hours() {
        assert_eq!(Locale::En.reply_time(0), "Usually replies within 1 min");
        assert_eq!(Locale::En.reply_time(90), "Usually replies within 90 min");
        assert_eq!(Locale::En.reply_time(121), "Usually replies within 3 h");
        assert_eq!(Locale::ZhCn.reply_time(60), "通常在 60 分钟内回复");
        assert_eq!(Locale::ZhCn.reply_time(1440), "通常在 24 小时内回复");
    }

    #[test]
    fn both_languages_have_a_tag() {
        assert_eq!(Locale::En.tag(), "en");
        assert_eq!(Locale::ZhCn.tag(), "zh-CN");
    }
}
