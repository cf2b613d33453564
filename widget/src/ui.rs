//! The widget's DOM: a launcher button and a chat panel inside an open shadow root.
//!
//! Isolation from the host page: the host element is a custom element (`<edgedesk-chat>`)
//! appended to `<html>` rather than `<body>`, so page rules on `body` (display, transform,
//! zoom) do not reach it; its only styles are a constructed stylesheet adopted by the shadow
//! root, whose `:host { all: initial !important; … }` wins over any `!important` rule of the
//! page (in the cascade, important declarations of the inner context beat the outer one),
//! and nothing inherited from the page survives `all: initial`. Constructed stylesheets and
//! CSSOM `setProperty` are allowed under `style-src 'self'`, unlike `<style>` or `style=`.
//! Elements are created one by one (no `innerHTML`), which also keeps the widget working on
//! pages that enforce Trusted Types.

use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, Document, Element, HtmlElement, HtmlInputElement, Node};

use crate::i18n::{Locale, Text, W};
use crate::timeline::Receipt;
use crate::wire::{Attachment, Message};

const CSS: &str = include_str!("style.css");
const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// The widget's elements, in [`TREE`] order, reached through the accessors below.
pub struct Ui {
    pub doc: Document,
    nodes: [HtmlElement; NODES],
    /// The rating form's five stars.
    pub star_buttons: Vec<HtmlElement>,
}

/// Accessors named for the elements the widget updates, by position in [`TREE`].
macro_rules! elements {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $index:literal,)*) => {
        impl Ui {
            $($(#[$doc])* pub fn $name(&self) -> &$ty {
                self.nodes[$index].unchecked_ref()
            })*
        }
    };
}

elements! {
    /// The root inside the shadow tree; carries the theme colour and the open state.
    root: HtmlElement = 0,
    panel: HtmlElement = 1,
    title: HtmlElement = 4,
    status: HtmlElement = 5,
    close: HtmlElement = 6,
    away: HtmlElement = 7,
    alert: HtmlElement = 8,
    /// The visitor's place in the queue while the conversation waits for an agent.
    queue: HtmlElement = 9,
    list: HtmlElement = 10,
    typing: HtmlElement = 11,
    prechat: HtmlElement = 12,
    pre_intro: HtmlElement = 13,
    pre_name_label: HtmlElement = 15,
    pre_name: HtmlInputElement = 16,
    pre_email_label: HtmlElement = 18,
    pre_email: HtmlInputElement = 19,
    pre_submit: HtmlElement = 20,
    /// The rating form shown once the conversation is resolved.
    rating: HtmlElement = 21,
    rate_intro: HtmlElement = 22,
    stars: HtmlElement = 23,
    rate_comment: HtmlInputElement = 24,
    rate_submit: HtmlElement = 25,
    /// The offer to leave an email while nobody is online, then where replies will go.
    email: HtmlElement = 26,
    email_line: HtmlElement = 27,
    email_label: HtmlElement = 28,
    email_input: HtmlInputElement = 30,
    email_submit: HtmlElement = 31,
    email_error: HtmlElement = 32,
    /// Help-centre articles suggested while the visitor types, above the composer.
    suggestions: HtmlElement = 33,
    suggestion_links: HtmlElement = 35,
    /// An opened article, shown in place of the conversation.
    article: HtmlElement = 36,
    back: HtmlElement = 37,
    article_title: HtmlElement = 38,
    article_body: HtmlElement = 39,
    article_link: HtmlElement = 40,
    vote_yes: HtmlElement = 43,
    vote_no: HtmlElement = 44,
    vote_thanks: HtmlElement = 45,
    composer: HtmlElement = 46,
    attach: HtmlElement = 47,
    file: HtmlInputElement = 50,
    /// Typed as an input: a textarea's `value` is the same property, and one binding for
    /// both keeps the glue smaller.
    input: HtmlInputElement = 51,
    send: HtmlElement = 52,
    launcher: HtmlElement = 53,
    badge: HtmlElement = 56,
}

/// Number of elements in [`TREE`].
const NODES: usize = 57;

/// The widget's DOM as data, one element per `|`-separated record:
/// `<parent>tag[.class][;attribute[=value]]…`, the parent by position in this table (none:
/// the shadow root). A string and one loop cost far less wasm than a call per element and
/// attribute, or a table of string slices (pointers that gzip cannot shrink, per entry).
/// Positions are in the comments; the accessors above name them.
#[rustfmt::skip]
const TREE: &str = concat!(
    "div.w|",                                                          // 0 root
    "0div.p;id=edp;role=dialog;hidden|",                               // 1 panel
    "1header.h|",                                                      // 2
    "2div|",                                                           // 3
    "3strong.t|",                                                      // 4 title
    "3span.s|",                                                        // 5 status
    "2button.x;type=button|",                                          // 6 close
    "1div.aw;hidden|",                                                 // 7 away
    "1div.al;role=alert;hidden|",                                      // 8 alert
    "1div.qu;role=status;hidden|",                                     // 9 queue
    "1ol.m;role=log;aria-live=polite;tabindex=0|",                     // 10 list
    "1div.ty;aria-live=polite;hidden|",                                // 11 typing
    "1form.f;hidden|",                                                 // 12 prechat
    "12p|",                                                            // 13
    "12label|",                                                        // 14
    "14span|",                                                         // 15
    "14input;name=name;autocomplete=name;maxlength=200|",              // 16
    "12label|",                                                        // 17
    "17span|",                                                         // 18
    "17input;type=email;name=email;autocomplete=email;maxlength=254|", // 19
    "12button.sd;type=submit|",                                        // 20
    "1form.r;hidden|",                                                 // 21 rating
    "21p;role=status|",                                                // 22 its question
    "21div.g;role=group|",                                             // 23 stars
    "21textarea;rows=2;maxlength=2000|",                               // 24 comment
    "21button.sd;type=submit|",                                        // 25
    "1form.e;hidden|",                                                 // 26 email offer
    "26p;role=status|",                                                // 27 its line
    "26label|",                                                        // 28
    "28span.sr|",                                                      // 29
    "28input;type=email;name=email;autocomplete=email;required;maxlength=254;aria-describedby=ede|", // 30
    "26button.sd;type=submit|",                                        // 31
    "26p.er;id=ede;role=alert;hidden|",                                // 32 its error
    "1div.k;hidden|",                                                  // 33 suggestions
    "33p;id=edk|",                                                     // 34 their caption
    "33div;role=group;aria-labelledby=edk|",                           // 35 their buttons
    "1div.ar;role=region;aria-labelledby=eda;hidden|",                 // 36 article
    "36button.bk;type=button|",                                        // 37 back
    "36h2;id=eda|",                                                    // 38 title
    "36div.ab|",                                                       // 39 body
    "36a;target=_blank;rel=noopener noreferrer|",                      // 40 help-centre page
    "36div.vo;role=group;aria-labelledby=edh|",                        // 41 vote
    "41span;id=edh|",                                                  // 42 its question
    "41button;type=button;aria-pressed=false|",                        // 43 yes
    "41button;type=button;aria-pressed=false|",                        // 44 no
    "36p;role=status|",                                                // 45 thanks
    "1form.c|",                                                        // 46 composer
    "46button;type=button|",                                           // 47 attach
    "47svg;viewBox=0 0 24 24;aria-hidden=true|",                       // 48
    // 49: a paper clip
    "48path;d=M15 6v10a3 3 0 0 1-6 0V5a2 2 0 0 1 4 0v10a1 1 0 0 1-2 0V6H9.5v9a2.5 2.5 0 0 0 5 0V5a3.5 3.5 0 0 0-7 0v11a4.5 4.5 0 0 0 9 0V6z|",
    "46input;type=file;hidden;tabindex=-1|",                           // 50 file
    "46textarea;rows=1;maxlength=20000|",                              // 51 input
    "46button.sd;type=submit|",                                        // 52 send
    "0button.l;aria-expanded=false;aria-controls=edp|",                // 53 launcher
    "53svg;viewBox=0 0 24 24;aria-hidden=true|",                       // 54
    // 55: a speech bubble
    "54path;d=M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z|",
    "53span.b;hidden",                                                 // 56 badge
);

/// The records of [`TREE`]: `(parent, tag, class, attributes)`, the attributes still as
/// `name=value;…`.
fn records() -> impl Iterator<Item = (usize, &'static str, &'static str, &'static [u8])> {
    TREE.as_bytes().split(|&b| b == b'|').map(|rec| {
        let (head, attributes) = cut(rec, b';');
        let digits = head.iter().take_while(|b| b.is_ascii_digit()).count();
        let (parent, name) = head.split_at(digits);
        let parent = match digits {
            0 => usize::MAX,
            _ => parent.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0')),
        };
        let (tag, class) = cut(name, b'.');
        (parent, text(tag), text(class), attributes)
    })
}

/// `bytes` split at the first `sep` (which is dropped); all of it and nothing without one.
fn cut(bytes: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == sep) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

/// A piece of [`TREE`] as text.
fn text(bytes: &[u8]) -> &str {
    // SAFETY: every piece comes from splitting a `&str` at ASCII bytes, which never falls
    // inside a multi-byte character, so it is valid UTF-8.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

/// Shows or hides an element through its `hidden` attribute: the same two bindings as every
/// other attribute, rather than a `hidden` property binding of its own.
pub fn hide(e: &Element, hidden: bool) {
    let _ = if hidden {
        e.set_attribute("hidden", "")
    } else {
        e.remove_attribute("hidden")
    };
}

/// Sets the `class` attribute (again to spare a binding).
pub fn set_class(e: &Element, class: &str) {
    let _ = e.set_attribute("class", class);
}

/// Creates `<tag class=…>` inside `parent` (`svg` and `path` in the SVG namespace).
pub fn el(doc: &Document, parent: &Node, tag: &str, class: &str) -> Result<HtmlElement, JsValue> {
    let e = if matches!(tag, "svg" | "path") {
        doc.create_element_ns(Some(SVG_NS), tag)?
    } else {
        doc.create_element(tag)?
    };
    if !class.is_empty() {
        set_class(&e, class);
    }
    parent.append_child(&e)?;
    Ok(e.unchecked_into())
}

/// Sets attributes; one `setAttribute` binding serves every property the widget sets once
/// (each typed setter would add its own import to the wasm and the glue).
pub fn attrs(e: &Element, pairs: &[(&str, &str)]) -> Result<(), JsValue> {
    for (k, v) in pairs {
        e.set_attribute(k, v)?;
    }
    Ok(())
}

/// Attribute names for [`LABELS`]; `""` sets the element's text.
const ATTRS: [&str; 4] = ["", "aria-label", "placeholder", "title"];

/// Where each translated word goes: the element (position in [`TREE`]), the attribute (in
/// [`ATTRS`]) and the word. Three bytes per label, where a pair of accessor closures cost two
/// functions.
#[rustfmt::skip]
const LABELS: [(u8, u8, W); 28] = [
    (53, 1, W::Open),
    (6, 1, W::Close),
    (6, 0, W::CloseSign),
    (10, 1, W::Messages),
    (11, 0, W::Typing),
    (13, 0, W::Prechat),
    (15, 0, W::Name),
    (18, 0, W::Email),
    (20, 0, W::Start),
    (51, 2, W::Placeholder),
    (51, 1, W::Placeholder),
    (47, 1, W::Attach),
    (47, 3, W::Attach),
    (52, 0, W::Send),
    (22, 0, W::Rate),
    (23, 1, W::Rate),
    (24, 2, W::Comment),
    (24, 1, W::Comment),
    (25, 0, W::Send),
    (29, 0, W::Email),
    (30, 2, W::Email),
    (31, 0, W::Send),
    (34, 0, W::Articles),
    (37, 0, W::Back),
    (40, 0, W::HelpCenter),
    (42, 0, W::Helpful),
    (43, 0, W::Yes),
    (44, 0, W::No),
];

impl Ui {
    /// Builds the widget and attaches it to the page.
    pub fn build(doc: &Document) -> Result<Ui, JsValue> {
        let host = doc.create_element("edgedesk-chat")?;
        // A plain `{mode: "open"}`: the typed `ShadowRootInit` brings a setter and an enum
        // table into the glue.
        let init = crate::wire::object(&[("mode", "open".into())]);
        let shadow = host.attach_shadow(init.unchecked_ref())?;
        let sheet = CssStyleSheet::new()?;
        sheet.replace_sync(CSS)?;
        shadow.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));

        let mut nodes: Vec<HtmlElement> = Vec::with_capacity(NODES);
        for (parent, tag, class, attributes) in records() {
            let parent: &Node = match nodes.get(parent) {
                Some(p) => p,
                None => &shadow,
            };
            let e = el(doc, parent, tag, class)?;
            for pair in attributes.split(|&b| b == b';') {
                if !pair.is_empty() {
                    let (name, value) = cut(pair, b'=');
                    e.set_attribute(text(name), text(value))?;
                }
            }
            nodes.push(e);
        }
        let nodes: [HtmlElement; NODES] = nodes
            .try_into()
            .map_err(|_| JsValue::from_str("widget tree"))?;
        // One button per rating, 1 to 5.
        let mut star_buttons = Vec::with_capacity(5);
        for _ in 0..5 {
            let b = el(doc, &nodes[23], "button", "")?;
            attrs(&b, &[("type", "button"), ("aria-pressed", "false")])?;
            b.set_text_content(Some("★"));
            star_buttons.push(b);
        }

        // Beside <body>, not inside it: see the module docs.
        doc.document_element()
            .ok_or_else(|| JsValue::from_str("no document element"))?
            .append_child(&host)?;

        Ok(Ui {
            doc: doc.clone(),
            nodes,
            star_buttons,
        })
    }

    /// Sets every fixed label in the given language.
    pub fn label(&self, locale: Locale, tenant_name: &str) -> Result<(), JsValue> {
        let t = locale.text();
        let name = if tenant_name.is_empty() {
            t[W::Title]
        } else {
            tenant_name
        };
        attrs(self.root(), &[("lang", locale.tag())])?;
        attrs(self.panel(), &[("aria-label", name)])?;
        self.title().set_text_content(Some(name));
        for (node, attr, word) in LABELS {
            let e = &self.nodes[usize::from(node)];
            match ATTRS[usize::from(attr)] {
                "" => e.set_text_content(Some(t[word])),
                attr => e.set_attribute(attr, t[word])?,
            }
        }
        for (n, b) in (1..).zip(&self.star_buttons) {
            let mut label = crate::api::num(n);
            label.push_str(t[W::Stars]);
            b.set_attribute("aria-label", &label)?;
        }
        Ok(())
    }

    /// Header presence line.
    pub fn presence(&self, t: &Text, online: bool) {
        self.status()
            .set_text_content(Some(if online { t[W::Online] } else { t[W::Away] }));
        set_class(self.status(), if online { "s on" } else { "s" });
    }

    /// Shows an error line (or hides it with `None`).
    pub fn show_alert(&self, text: Option<&str>) {
        self.alert().set_text_content(text);
        hide(self.alert(), text.is_none());
    }

    /// Unread count on the launcher (hidden at zero).
    pub fn unread(&self, t: &Text, count: u32) -> Result<(), JsValue> {
        hide(self.badge(), count == 0);
        let n = crate::api::num(u64::from(count));
        self.badge().set_text_content(Some(&n));
        let mut label = String::from(t[W::Open]);
        if count > 0 {
            label.push_str(" (");
            label.push_str(&n);
            label.push(' ');
            label.push_str(t[W::Unread]);
            label.push(')');
        }
        self.launcher().set_attribute("aria-label", &label)
    }

    /// A list item for a message; returns it and its status line.
    pub fn message(
        &self,
        locale: Locale,
        m: &Message,
        absolute: &dyn Fn(&str) -> String,
    ) -> Result<(HtmlElement, HtmlElement), JsValue> {
        let t = locale.text();
        let li = self.item(
            if m.from_visitor { "me" } else { "" },
            if m.from_visitor {
                t[W::You]
            } else {
                t[W::Agent]
            },
            &m.body,
        )?;
        let files = crate::wire::list(&m.raw, "attachments");
        if files.length() > 0 {
            let box_ = el(&self.doc, &li, "div", "at")?;
            for a in files.iter() {
                if let Some(a) = Attachment::read(&a) {
                    attachment(&self.doc, &box_, &a, absolute)?;
                }
            }
        }
        let meta = el(&self.doc, &li, "div", "mt")?;
        if let Some(at) = &m.created_at {
            let date = js_sys::Date::new(&JsValue::from_str(at));
            if !date.get_time().is_nan() {
                let time = el(&self.doc, &meta, "time", "")?;
                let options = crate::wire::object(&[
                    ("hour", "2-digit".into()),
                    ("minute", "2-digit".into()),
                ]);
                let text: String = date
                    .to_locale_time_string_with_options(locale.tag(), &options)
                    .into();
                time.set_text_content(Some(&text));
            }
        }
        let status = el(&self.doc, &meta, "span", "")?;
        Ok((li, status))
    }

    /// A bare list item (also used for messages still being sent).
    pub fn item(&self, class: &str, who: &str, body: &str) -> Result<HtmlElement, JsValue> {
        let li = self.doc.create_element("li")?;
        set_class(&li, class);
        let sender = el(&self.doc, &li, "span", "sr")?;
        let mut label = String::from(who);
        label.push_str(": ");
        sender.set_text_content(Some(&label));
        if !body.is_empty() {
            li.append_with_str_1(body)?;
        }
        Ok(li.unchecked_into())
    }

    /// Keeps the newest message in view.
    pub fn scroll_to_end(&self) {
        // Browsers clamp `scrollTop` to the end, so no `scrollHeight` binding is needed.
        self.list().set_scroll_top(i32::MAX);
    }
}

/// An attachment: images inline (linked to the full file), anything else as a link.
fn attachment(
    doc: &Document,
    parent: &Element,
    a: &Attachment,
    absolute: &dyn Fn(&str) -> String,
) -> Result<(), JsValue> {
    let url = a.url.as_deref().map(absolute);
    let link = link(doc, parent, url.as_deref().unwrap_or(""))?;
    if let (Some(u), true) = (&url, a.content_type.starts_with("image/")) {
        let img = el(doc, &link, "img", "")?;
        attrs(&img, &[("src", u), ("alt", &a.name)])?;
        return Ok(());
    }
    let mut label = String::from("📎 ");
    label.push_str(&a.name);
    link.set_text_content(Some(&label));
    Ok(())
}

/// A link that opens in a new tab without giving it a handle on the page.
pub fn link(doc: &Document, parent: &Element, url: &str) -> Result<HtmlElement, JsValue> {
    let a = el(doc, parent, "a", "")?;
    if !url.is_empty() {
        attrs(&a, &[("href", url)])?;
    }
    attrs(&a, &[("target", "_blank"), ("rel", "noopener noreferrer")])?;
    Ok(a)
}

/// The status text of the visitor's own message.
pub fn receipt_text(t: &Text, r: Receipt) -> &'static str {
    match r {
        Receipt::Delivered => t[W::Delivered],
        Receipt::Seen => t[W::Seen],
    }
}

/// The text of an article's sanitised HTML (the API's `html`), to show with CSS
/// `white-space: pre-line`: tags dropped and the entities the server's escaping produces
/// decoded. The renderer ends every block with a newline, so paragraphs, headings and list
/// items (with a bullet) keep their own lines. The result is set as text, never parsed as markup, so nothing
/// in it can run, and it needs no `innerHTML` (which Trusted Types pages refuse).
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        let mut len = c.len_utf8();
        match c {
            '<' => {
                in_tag = true;
                // List items keep a bullet.
                if rest.starts_with("<li>") {
                    out.push_str("• ");
                }
            }
            '>' => in_tag = false,
            _ if in_tag => {}
            '&' => match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
                Some((e, decoded)) => {
                    len = e.len();
                    out.push(*decoded);
                }
                None => out.push('&'),
            },
            c => out.push(c),
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    out
}

/// The entities of the server's HTML escaping.
const ENTITIES: [(&str, char); 5] = [
    ("&amp;", '&'),
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
    ("&#39;", '\''),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_has_as_many_records_as_elements_with_earlier_parents() {
        let records: Vec<_> = records().collect();
        assert_eq!(records.len(), NODES);
        for (i, (parent, tag, _, _)) in records.iter().enumerate() {
            assert!(!tag.is_empty(), "record {i} has a tag");
            assert!(i == 0 || *parent < i, "record {i} comes after its parent");
        }
        assert_eq!(
            records[0].0,
            usize::MAX,
            "the root hangs from the shadow root"
        );
        assert_eq!(records[51].1, "textarea");
        assert_eq!(records[30].1, "input");
        assert_eq!(records[40].3, b"target=_blank;rel=noopener noreferrer");
    }

    #[test]
    fn labels_point_at_elements_of_the_tree() {
        for (node, attr, _) in LABELS {
            assert!(usize::from(node) < NODES);
            assert!(usize::from(attr) < ATTRS.len());
        }
    }

    #[test]
    fn article_html_becomes_plain_text_on_the_renderers_lines() {
        let html = "<h1>Refunds &amp; returns</h1>\n<p>Send it back within 30 days.</p>\n\
                    <ul>\n<li>Keep the <strong>receipt</strong></li>\n</ul>\n\
                    <p>&lt;script&gt; is &quot;text&quot;, it&#39;s safe</p>\n";
        assert_eq!(
            html_text(html),
            "Refunds & returns\nSend it back within 30 days.\n\n• Keep the receipt\n\n\
             <script> is \"text\", it's safe\n"
        );
    }

    #[test]
    fn unknown_entities_and_unclosed_tags_do_not_break_the_text() {
        assert_eq!(html_text("a &copy; b"), "a &copy; b");
        assert_eq!(html_text("x <b"), "x ");
        assert_eq!(html_text("你好 &amp; 再见"), "你好 & 再见");
    }
}
