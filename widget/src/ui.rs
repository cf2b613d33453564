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
use web_sys::{
    CssStyleSheet, Document, Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement, Node,
    ShadowRootInit, ShadowRootMode,
};

use crate::i18n::{Locale, Text};
use crate::timeline::Receipt;
use crate::wire::{Attachment, Message};

const CSS: &str = include_str!("style.css");
const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// A speech bubble (launcher) and a paper clip (attach), as SVG path data.
const BUBBLE: &str = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z";
const CLIP: &str = "M15 6v10a3 3 0 0 1-6 0V5a2 2 0 0 1 4 0v10a1 1 0 0 1-2 0V6H9.5v9a2.5 2.5 0 0 0 5 0V5a3.5 3.5 0 0 0-7 0v11a4.5 4.5 0 0 0 9 0V6z";

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
    rate_comment: HtmlTextAreaElement = 24,
    rate_submit: HtmlElement = 25,
    composer: HtmlElement = 26,
    attach: HtmlElement = 27,
    file: HtmlInputElement = 30,
    input: HtmlTextAreaElement = 31,
    send: HtmlElement = 32,
    launcher: HtmlElement = 33,
    badge: HtmlElement = 36,
}

/// Number of elements in [`TREE`].
const NODES: usize = 37;

/// The widget's DOM as data: `(parent, tag, class, attributes)`, parents by position in this
/// table, the root's parent being the shadow root. A table and one loop cost far less wasm
/// than a call per element and attribute. The order matches the destructuring in
/// [`Ui::build`].
/// `(parent, tag, class, attributes)`.
type Spec = (
    usize,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[rustfmt::skip]
const TREE: [Spec; NODES] = [
    (usize::MAX, "div", "w", &[]),                                                    // 0 root
    (0, "div", "p", &[("id", "edp"), ("role", "dialog"), ("hidden", "")]),            // 1 panel
    (1, "header", "h", &[]),                                                          // 2
    (2, "div", "", &[]),                                                              // 3
    (3, "strong", "t", &[]),                                                          // 4 title
    (3, "span", "s", &[]),                                                            // 5 status
    (2, "button", "x", &[("type", "button")]),                                        // 6 close
    (1, "div", "aw", &[("hidden", "")]),                                              // 7 away
    (1, "div", "al", &[("role", "alert"), ("hidden", "")]),                           // 8 alert
    (1, "div", "qu", &[("role", "status"), ("hidden", "")]),                          // 9 queue
    (1, "ol", "m", &[("role", "log"), ("aria-live", "polite"), ("tabindex", "0")]),   // 10 list
    (1, "div", "ty", &[("aria-live", "polite"), ("hidden", "")]),                     // 11 typing
    (1, "form", "f", &[("hidden", "")]),                                              // 12 prechat
    (12, "p", "", &[]),                                                               // 13
    (12, "label", "", &[]),                                                           // 14
    (14, "span", "", &[]),                                                            // 15
    (14, "input", "", &[("name", "name"), ("autocomplete", "name"), ("maxlength", "200")]), // 16
    (12, "label", "", &[]),                                                           // 17
    (17, "span", "", &[]),                                                            // 18
    (17, "input", "", &[("type", "email"), ("name", "email"), ("autocomplete", "email"), ("maxlength", "254")]), // 19
    (12, "button", "sd", &[("type", "submit")]),                                      // 20
    (1, "form", "r", &[("hidden", "")]),                                              // 21 rating
    (21, "p", "", &[("role", "status")]),                                             // 22 its question
    (21, "div", "g", &[("role", "group")]),                                           // 23 stars
    (21, "textarea", "", &[("rows", "2"), ("maxlength", "2000")]),                    // 24 comment
    (21, "button", "sd", &[("type", "submit")]),                                      // 25
    (1, "form", "c", &[]),                                                            // 26 composer
    (26, "button", "", &[("type", "button")]),                                        // 27 attach
    (27, "svg", "", &[("viewBox", "0 0 24 24"), ("aria-hidden", "true")]),            // 28
    (28, "path", "", &[("d", CLIP)]),                                                 // 29
    (26, "input", "", &[("type", "file"), ("hidden", ""), ("tabindex", "-1")]),       // 30 file
    (26, "textarea", "", &[("rows", "1"), ("maxlength", "20000")]),                   // 31 input
    (26, "button", "sd", &[("type", "submit")]),                                      // 32 send
    (0, "button", "l", &[("aria-expanded", "false"), ("aria-controls", "edp")]),      // 33 launcher
    (33, "svg", "", &[("viewBox", "0 0 24 24"), ("aria-hidden", "true")]),            // 34
    (34, "path", "", &[("d", BUBBLE)]),                                               // 35
    (33, "span", "b", &[("hidden", "")]),                                             // 36 badge
];

/// Creates `<tag class=…>` inside `parent` (`svg` and `path` in the SVG namespace).
fn el(doc: &Document, parent: &Node, tag: &str, class: &str) -> Result<HtmlElement, JsValue> {
    let e = if matches!(tag, "svg" | "path") {
        doc.create_element_ns(Some(SVG_NS), tag)?
    } else {
        doc.create_element(tag)?
    };
    if !class.is_empty() {
        e.set_class_name(class);
    }
    parent.append_child(&e)?;
    Ok(e.unchecked_into())
}

/// Sets attributes; one `setAttribute` binding serves every property the widget sets once
/// (each typed setter would add its own import to the wasm and the glue).
fn attrs(e: &Element, pairs: &[(&str, &str)]) -> Result<(), JsValue> {
    for (k, v) in pairs {
        e.set_attribute(k, v)?;
    }
    Ok(())
}

/// Where each translated label goes: the element, the attribute (`""`: its text), the words.
type Label = (
    fn(&Ui) -> &HtmlElement,
    &'static str,
    fn(&Text) -> &'static str,
);

#[rustfmt::skip]
const LABELS: [Label; 19] = [
    (|u| u.launcher(), "aria-label", |t| t.open),
    (|u| u.close(), "aria-label", |t| t.close),
    (|u| u.list(), "aria-label", |t| t.messages),
    (|u| u.typing(), "", |t| t.typing),
    (|u| u.pre_intro(), "", |t| t.prechat),
    (|u| u.pre_name_label(), "", |t| t.name),
    (|u| u.pre_email_label(), "", |t| t.email),
    (|u| u.pre_submit(), "", |t| t.start),
    (|u| u.input().unchecked_ref(), "placeholder", |t| t.placeholder),
    (|u| u.input().unchecked_ref(), "aria-label", |t| t.placeholder),
    (|u| u.attach(), "aria-label", |t| t.attach),
    (|u| u.attach(), "title", |t| t.attach),
    (|u| u.send(), "", |t| t.send),
    (|u| u.close(), "", |_| "×"),
    (|u| u.rate_intro(), "", |t| t.rate),
    (|u| u.stars(), "aria-label", |t| t.rate),
    (|u| u.rate_comment().unchecked_ref(), "placeholder", |t| t.comment),
    (|u| u.rate_comment().unchecked_ref(), "aria-label", |t| t.comment),
    (|u| u.rate_submit(), "", |t| t.send),
];

impl Ui {
    /// Builds the widget and attaches it to the page.
    pub fn build(doc: &Document) -> Result<Ui, JsValue> {
        let host = doc.create_element("edgedesk-chat")?;
        let shadow = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
        let sheet = CssStyleSheet::new()?;
        sheet.replace_sync(CSS)?;
        shadow.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));

        let mut nodes: Vec<HtmlElement> = Vec::with_capacity(NODES);
        for (parent, tag, class, pairs) in TREE {
            let parent: &Node = match nodes.get(parent) {
                Some(p) => p,
                None => &shadow,
            };
            let e = el(doc, parent, tag, class)?;
            attrs(&e, pairs)?;
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
            t.title
        } else {
            tenant_name
        };
        attrs(&self.root(), &[("lang", locale.tag())])?;
        attrs(&self.panel(), &[("aria-label", name)])?;
        self.title().set_text_content(Some(name));
        for (element, attr, words) in LABELS {
            let e = element(self);
            if attr.is_empty() {
                e.set_text_content(Some(words(t)));
            } else {
                e.set_attribute(attr, words(t))?;
            }
        }
        for (n, b) in (1..).zip(&self.star_buttons) {
            let mut label = crate::api::num(n);
            label.push_str(t.stars);
            b.set_attribute("aria-label", &label)?;
        }
        Ok(())
    }

    /// Header presence line.
    pub fn presence(&self, t: &Text, online: bool) {
        self.status()
            .set_text_content(Some(if online { t.online } else { t.away }));
        self.status()
            .set_class_name(if online { "s on" } else { "s" });
    }

    /// Shows an error line (or hides it with `None`).
    pub fn show_alert(&self, text: Option<&str>) {
        self.alert().set_text_content(text);
        self.alert().set_hidden(text.is_none());
    }

    /// Unread count on the launcher (hidden at zero).
    pub fn unread(&self, t: &Text, count: u32) -> Result<(), JsValue> {
        self.badge().set_hidden(count == 0);
        let n = crate::api::num(u64::from(count));
        self.badge().set_text_content(Some(&n));
        let mut label = String::from(t.open);
        if count > 0 {
            label.push_str(" (");
            label.push_str(&n);
            label.push(' ');
            label.push_str(t.unread);
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
            if m.from_visitor { t.you } else { t.agent },
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
        li.set_class_name(class);
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
        self.list().set_scroll_top(self.list().scroll_height());
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
        Receipt::Delivered => t.delivered,
        Receipt::Seen => t.seen,
    }
}
