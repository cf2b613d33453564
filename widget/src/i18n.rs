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

    /// Where the team's replies will be mailed, once the visitor left their address.
    pub fn emailed(self, address: &str) -> String {
        let (before, after) = match self {
            Locale::En => ("We'll email you at ", "."),
            Locale::ZhCn => ("我们会将回复发送到 ", "。"),
        };
        let mut s = String::from(before);
        s.push_str(address);
        s.push_str(after);
        s
    }
}

/// Every visible or spoken (ARIA) string, by [`W`]: an array rather than a struct, so the
/// label table in `ui` names a word with one byte instead of an accessor function each.
pub struct Text([&'static str; WORDS]);

impl core::ops::Index<W> for Text {
    type Output = &'static str;
    fn index(&self, w: W) -> &&'static str {
        &self.0[w as usize]
    }
}

/// The words, in [`Text`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum W {
    Open,
    Close,
    /// The close button's sign.
    CloseSign,
    Title,
    Online,
    Away,
    Messages,
    Placeholder,
    Send,
    Attach,
    Typing,
    Delivered,
    Seen,
    Sending,
    NotSent,
    You,
    Agent,
    Prechat,
    Name,
    Email,
    Start,
    IdentityRefused,
    TooLarge,
    BadType,
    UploadFailed,
    Reconnecting,
    Unavailable,
    Unread,
    Rate,
    Stars,
    Comment,
    Rated,
    Articles,
    Back,
    HelpCenter,
    Helpful,
    Yes,
    No,
    Voted,
    /// The offer to leave an email while nobody is online.
    EmailOffer,
}

/// Number of words (one past the last [`W`]).
const WORDS: usize = W::EmailOffer as usize + 1;

#[rustfmt::skip]
static EN: Text = Text([
    "Open chat", // Open
    "Close chat", // Close
    "×", // CloseSign
    "Chat", // Title
    "Online", // Online
    "Away", // Away
    "Messages", // Messages
    "Write a message…", // Placeholder
    "Send", // Send
    "Attach a file", // Attach
    "Typing…", // Typing
    "Delivered", // Delivered
    "Seen", // Seen
    "Sending…", // Sending
    "Not sent", // NotSent
    "You", // You
    "Support", // Agent
    "Tell us how to reach you", // Prechat
    "Name", // Name
    "Email", // Email
    "Start chat", // Start
    "We could not verify who you are. Please sign in again.", // IdentityRefused
    "That file is too large.", // TooLarge
    "That type of file cannot be sent.", // BadType
    "The file could not be sent.", // UploadFailed
    "Reconnecting…", // Reconnecting
    "Chat is unavailable right now.", // Unavailable
    "unread", // Unread
    "How would you rate this conversation?", // Rate
    " of 5", // Stars
    "Anything to add? (optional)", // Comment
    "Thank you for your rating!", // Rated
    "Articles that may help", // Articles
    "← Back to the chat", // Back
    "Open in the help center", // HelpCenter
    "Was this helpful?", // Helpful
    "Yes", // Yes
    "No", // No
    "Thanks for your feedback!", // Voted
    "Nobody is online right now. Leave your email and we'll reply there.", // EmailOffer
]);

#[rustfmt::skip]
static ZH_CN: Text = Text([
    "打开聊天", // Open
    "关闭聊天", // Close
    "×", // CloseSign
    "在线客服", // Title
    "在线", // Online
    "离开", // Away
    "消息", // Messages
    "输入消息…", // Placeholder
    "发送", // Send
    "添加附件", // Attach
    "正在输入…", // Typing
    "已送达", // Delivered
    "已读", // Seen
    "发送中…", // Sending
    "发送失败", // NotSent
    "您", // You
    "客服", // Agent
    "请留下您的联系方式", // Prechat
    "姓名", // Name
    "邮箱", // Email
    "开始聊天", // Start
    "无法验证您的身份，请重新登录。", // IdentityRefused
    "文件过大。", // TooLarge
    "不支持此类文件。", // BadType
    "文件发送失败。", // UploadFailed
    "正在重新连接…", // Reconnecting
    "聊天暂时不可用。", // Unavailable
    "条未读", // Unread
    "您对本次服务满意吗？", // Rate
    " 星", // Stars
    "补充说明（选填）", // Comment
    "感谢您的评价！", // Rated
    "可能有帮助的文章", // Articles
    "← 返回聊天", // Back
    "在帮助中心打开", // HelpCenter
    "这篇文章有帮助吗？", // Helpful
    "有帮助", // Yes
    "没帮助", // No
    "感谢您的反馈！", // Voted
    "现在没有客服在线。请留下您的邮箱，我们会通过邮件回复您。", // EmailOffer
]);

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
    fn the_confirmation_names_the_address() {
        assert_eq!(
            Locale::En.emailed("ada@example.com"),
            "We'll email you at ada@example.com."
        );
        assert_eq!(
            Locale::ZhCn.emailed("ada@example.com"),
            "我们会将回复发送到 ada@example.com。"
        );
    }

    #[test]
    fn both_languages_have_a_tag() {
        assert_eq!(Locale::En.tag(), "en");
        assert_eq!(Locale::ZhCn.tag(), "zh-CN");
    }
}
