//! A composed reply reads back as it was written: `compose` then `parse` gives the same
//! subject, text, threading and attachments.

use edgedesk_mail::{
    compose, parse, plus_address, reply_token, text_to_html, Address, Attachment, Kind, Limits,
    Outgoing,
};

fn address(address: &str, name: Option<&str>) -> Address {
    Address::new(address, name).unwrap()
}

fn reply() -> Outgoing {
    Outgoing {
        from: address("support@acme.example", Some("Acme 客服")),
        to: vec![address("zhangwei@qq.com", Some("张伟"))],
        cc: vec![address(
            "lisa.berg@nordic-supply.example",
            Some("Berg, Lisa"),
        )],
        reply_to: Some(address(&plus_address("support@acme.example", "ab12"), None)),
        subject: "Re: 订单 7788 的配送 [#1234]".into(),
        message_id: "<01000190acme-reply-1@email.acme.example>".into(),
        in_reply_to: Some("tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com".into()),
        references: vec![
            "01000190acme-order-7788@email.acme.example".into(),
            "<tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com>".into(),
        ],
        text: "您好，\n\n包裹明天 <上午> 送达 & 请签收。\n\nAcme Support".into(),
        html: None,
        attachments: vec![
            Attachment {
                filename: "发票_2024年6月.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4\n\x00\x01\x02\xff binary\n%%EOF\n".to_vec(),
                inline: false,
                content_id: None,
            },
            Attachment {
                filename: "logo.png".into(),
                content_type: "image/png".into(),
                bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3],
                inline: true,
                content_id: Some("logo@acme.example".into()),
            },
        ],
        date: 1_718_000_000,
        auto_submitted: false,
    }
}

#[test]
fn a_composed_reply_parses_back_to_what_was_written() {
    let out = reply();
    let raw = compose(&out);
    let mail = parse(&raw, &Limits::default()).unwrap();

    assert_eq!(mail.subject, out.subject);
    assert_eq!(mail.full_text, out.text);
    assert_eq!(
        mail.visible_text,
        "您好，\n\n包裹明天 <上午> 送达 & 请签收。\n\nAcme Support"
    );
    assert!(mail.has_html);
    assert_eq!(
        mail.message_id.as_deref(),
        Some("01000190acme-reply-1@email.acme.example")
    );
    assert_eq!(
        mail.in_reply_to,
        ["tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com"]
    );
    assert_eq!(
        mail.references,
        [
            "01000190acme-order-7788@email.acme.example",
            "tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com"
        ]
    );
    assert_eq!(mail.from, Some(out.from.clone()));
    assert_eq!(mail.to, out.to);
    assert_eq!(mail.cc, out.cc);
    assert_eq!(mail.reply_to, out.reply_to);
    assert_eq!(
        reply_token(&mail.reply_to.unwrap().address, "support@acme.example").as_deref(),
        Some("ab12")
    );
    assert_eq!(mail.date, Some(out.date));
    assert_eq!(mail.kind, Kind::Person);

    let mut got = mail.attachments.clone();
    got.sort_by(|a, b| a.filename.cmp(&b.filename));
    let mut want = out.attachments.clone();
    want.sort_by(|a, b| a.filename.cmp(&b.filename));
    assert_eq!(got, want);
}

#[test]
fn threading_headers_are_written_with_angle_brackets() {
    let raw = String::from_utf8(compose(&reply())).unwrap();
    assert!(raw.contains("Message-ID: <01000190acme-reply-1@email.acme.example>\r\n"));
    assert!(raw.contains("In-Reply-To: <tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com>\r\n"));
    assert!(raw.contains("<01000190acme-order-7788@email.acme.example>"));
    assert!(!raw.contains("<<"));
    assert!(raw.contains("Date: "));
    assert!(raw.contains("MIME-Version: 1.0\r\n"));
    assert!(!raw.contains("Auto-Submitted"));
}

#[test]
fn the_structure_is_alternative_text_and_html_in_mixed_with_the_files() {
    let raw = String::from_utf8(compose(&reply())).unwrap();
    let at = |needle: &str| {
        raw.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(at("multipart/mixed") < at("multipart/alternative"));
    assert!(at("multipart/alternative") < at("text/plain"));
    assert!(at("text/plain") < at("multipart/related"));
    assert!(at("multipart/related") < at("text/html"));
    assert!(at("text/html") < at("image/png"));
    assert!(at("image/png") < at("application/pdf"));

    let plain = Outgoing {
        attachments: Vec::new(),
        ..reply()
    };
    let raw = String::from_utf8(compose(&plain)).unwrap();
    assert!(raw.contains("multipart/alternative"));
    assert!(!raw.contains("multipart/mixed"));
    assert!(!raw.contains("multipart/related"));
}

#[test]
fn without_html_the_html_part_is_the_escaped_text() {
    let out = Outgoing {
        subject: "Hello".into(),
        text: "Line <one> & two\nsecond line\n\nNew paragraph".into(),
        attachments: Vec::new(),
        ..reply()
    };
    let raw = compose(&out);
    let html = text_to_html(&out.text);
    assert_eq!(
        html,
        "<p>Line &lt;one&gt; &amp; two<br>\nsecond line</p>\n<p>New paragraph</p>\n"
    );
    // Short ASCII lines go out as they are; find the fragment in the message.
    let raw = String::from_utf8(raw).unwrap();
    assert!(
        raw.contains("<p>Line &lt;one&gt; &amp; two<br>\r\nsecond line</p>"),
        "{raw}"
    );
}

#[test]
fn given_html_is_sent_as_it_is() {
    let out = Outgoing {
        html: Some("<p>Custom <b>HTML</b></p>".into()),
        attachments: Vec::new(),
        ..reply()
    };
    let raw = String::from_utf8(compose(&out)).unwrap();
    assert!(raw.contains("<p>Custom <b>HTML</b></p>"));
}

#[test]
fn an_automatic_message_says_so_and_reads_back_as_an_auto_reply() {
    let out = Outgoing {
        auto_submitted: true,
        ..reply()
    };
    let raw = compose(&out);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
    let mail = parse(&raw, &Limits::default()).unwrap();
    assert!(matches!(mail.kind, Kind::AutoReply { .. }));
}

#[test]
fn the_same_reply_composes_to_the_same_bytes() {
    assert_eq!(compose(&reply()), compose(&reply()));
    let other = Outgoing {
        message_id: "other@email.acme.example".into(),
        ..reply()
    };
    assert_ne!(compose(&reply()), compose(&other));
}

#[test]
fn a_boundary_never_appears_in_the_content_it_separates() {
    // Compose once to learn the boundary, then put it into the text.
    let raw = String::from_utf8(compose(&reply())).unwrap();
    let start = raw.find("boundary=\"").unwrap() + 10;
    let boundary = &raw[start..start + raw[start..].find('"').unwrap()];
    let tricky = Outgoing {
        text: format!("plain ascii\n--{boundary}\nmore"),
        ..reply()
    };
    let raw = compose(&tricky);
    let mail = parse(&raw, &Limits::default()).unwrap();
    assert_eq!(mail.full_text, tricky.text);
    assert_eq!(mail.attachments.len(), 2);
}
