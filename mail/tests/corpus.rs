//! The corpus: messages shaped like what each client and server really sends (tests/corpus),
//! each with a row saying what the channel must make of it.

use std::collections::BTreeSet;
use std::path::Path;

use edgedesk_mail::{parse, Inbound, Kind, Limits, MailError};

/// What the visible text must be.
enum Visible {
    Exact(&'static str),
    Prefix(&'static str),
}

enum Want {
    Person,
    AutoReply,
    Bulk,
    Bounce {
        recipients: &'static [&'static str],
        status: Option<&'static str>,
        permanent: bool,
        original: Option<&'static str>,
    },
    Malformed,
}

struct Case {
    file: &'static str,
    kind: Want,
    visible: Visible,
    /// Must appear in the visible text.
    contains: &'static [&'static str],
    /// Must not appear in the visible text (the quoted history, the signature, the script).
    absent: &'static [&'static str],
    /// `""`: not checked.
    subject: &'static str,
    from: &'static str,
    message_id: &'static str,
    in_reply_to: &'static [&'static str],
    attachments: &'static [&'static str],
    has_html: Option<bool>,
}

const ROW: Case = Case {
    file: "",
    kind: Want::Person,
    visible: Visible::Prefix(""),
    contains: &[],
    absent: &[],
    subject: "",
    from: "",
    message_id: "",
    in_reply_to: &[],
    attachments: &[],
    has_html: None,
};

const TABLE: &[Case] = &[
    Case {
        file: "01-gmail-plain-reply.eml",
        visible: Visible::Exact(
            "Hi,\n\nI tried turning it off and on again and it still shows error E-42. What\nshould I try next?\n\nThanks,\nAnn",
        ),
        absent: &["wrote", "Please restart"],
        subject: "Re: Printer broken",
        from: "ann.smith@gmail.com",
        message_id: "CAH7xQ0r2kT3bZ9v+ZJm1wq8fN=Gd4xk@mail.gmail.com",
        in_reply_to: &["01000190a1b2c3d4-acme-1@email.acme.example"],
        has_html: Some(false),
        ..ROW
    },
    Case {
        file: "02-gmail-html-reply.eml",
        visible: Visible::Exact("Thank you, the refund arrived today 👍"),
        absent: &["€49.00"],
        subject: "Re: Refund for order 5531",
        message_id: "CAH7xQ0pZ3vN8=kLd0W4y2sJ_Gm5R3k@mail.gmail.com",
        in_reply_to: &["01000190a1b2c3d4-acme-2@email.acme.example"],
        has_html: Some(true),
        ..ROW
    },
    Case {
        file: "03-outlook-desktop-reply.eml",
        visible: Visible::Exact(
            "Hi team,\n\nThe invoice still shows the old VAT number. Could you reissue it?\n\nBest regards,\nCarl Jensen",
        ),
        absent: &["From:", "Sent:", "your invoice is attached"],
        from: "carl.jensen@nordic-supply.example",
        in_reply_to: &["01000190acme-invoice-7@email.acme.example"],
        ..ROW
    },
    Case {
        file: "04-outlook-html-only.eml",
        visible: Visible::Prefix(
            "Hi team,\n\nThe invoice still shows the old VAT number. Could you reissue it?",
        ),
        contains: &["Carl Jensen"],
        absent: &["From:", "your invoice is attached", "font-family", "MsoNormal", "<", "&nbsp;"],
        has_html: Some(true),
        ..ROW
    },
    Case {
        file: "05-outlook-com-reply.eml",
        visible: Visible::Exact("No problem, I\u{2019}ll wait until Monday."),
        absent: &["Get Outlook", "________", "parcel"],
        from: "mike_t@outlook.com",
        ..ROW
    },
    Case {
        file: "06-apple-mail-inline-image.eml",
        visible: Visible::Exact(
            "Here is a photo of the scratch, it runs along the whole edge.\n\nSofia",
        ),
        absent: &["wrote", "photo of the damage"],
        message_id: "9E2F4A1B-3C5D-4E6F-8A7B-1C2D3E4F5A6B@icloud.com",
        attachments: &["IMG_2041.png"],
        ..ROW
    },
    Case {
        file: "07-thunderbird-signature.eml",
        visible: Visible::Exact(
            "Hello,\n\nthe serial number is SN-4471-XK. I bought it in Brno in March.\n\nJan",
        ),
        absent: &["Tel.", "please send us", "wrote"],
        from: "jan.novak@posta.example.cz",
        ..ROW
    },
    Case {
        file: "08-qq-mail-gbk.eml",
        visible: Visible::Exact("好的，我明天在家等快递。\n\n谢谢！"),
        absent: &["原始邮件", "发件人", "包裹"],
        subject: "回复：订单 7788 的配送",
        from: "zhangwei@qq.com",
        message_id: "tencent_5F2A1C3E7B9D4F6A8C0E2B4D@qq.com",
        in_reply_to: &["01000190acme-order-7788@email.acme.example"],
        ..ROW
    },
    Case {
        file: "09-163-mail-gbk.eml",
        visible: Visible::Exact("收到了，但是颜色不对，我订的是蓝色。"),
        absent: &["写道", "已发货"],
        subject: "Re:订单已发货",
        from: "li_na88@163.com",
        ..ROW
    },
    Case {
        file: "10-big5.eml",
        visible: Visible::Exact("您好：\n\n機器今天還是無法開機，請問可以換貨嗎？\n\n陳先生"),
        absent: &["寄件者", "充電"],
        subject: "回覆: 維修申請",
        from: "tw.chen@hinet.example.tw",
        ..ROW
    },
    Case {
        file: "11-iso-2022-jp.eml",
        visible: Visible::Exact(
            "お世話になっております。\n\n交換品を受け取りました。ありがとうございました。",
        ),
        absent: &["本日発送", "Acme Support"],
        subject: "Re: 交換品の発送について",
        ..ROW
    },
    Case {
        file: "12-shift-jis.eml",
        visible: Visible::Exact("注文番号 3321 の件、キャンセルをお願いします。"),
        absent: &["iPhoneから送信", "書きました", "ありがとう"],
        subject: "Re: ご注文の確認",
        from: "suzuki@docomo.example.ne.jp",
        in_reply_to: &["01000190acme-order-3321@email.acme.example"],
        ..ROW
    },
    Case {
        file: "13-forwarded-thread.eml",
        visible: Visible::Prefix("The tracking link in this mail does not work, can you check?"),
        contains: &[
            "---------- Forwarded message ---------",
            "Your order 5531 is on its way",
        ],
        subject: "Fwd: Your order 5531 has shipped",
        ..ROW
    },
    Case {
        file: "14-out-of-office-exchange.eml",
        kind: Want::AutoReply,
        visible: Visible::Prefix("Ich bin bis zum 28.06. nicht im Büro"),
        in_reply_to: &["01000190acme-ticket-1290@email.acme.example"],
        ..ROW
    },
    Case {
        file: "15-gmail-vacation.eml",
        kind: Want::AutoReply,
        visible: Visible::Exact("I'm on holiday until July 1st with limited access to email."),
        ..ROW
    },
    Case {
        file: "16-mailing-list.eml",
        kind: Want::Bulk,
        visible: Visible::Exact("Firmware 3.2 is out. It fixes the E-42 error on the X200."),
        absent: &["mailing list", "Dave"],
        ..ROW
    },
    Case {
        file: "17-postfix-dsn-bounce.eml",
        kind: Want::Bounce {
            recipients: &["nobody@example.org"],
            status: Some("5.1.1"),
            permanent: true,
            original: Some("01000190acme-ticket-1310@email.acme.example"),
        },
        visible: Visible::Prefix("This is the mail system at host mx.acme.example."),
        attachments: &["delivery-status.txt", "message.eml"],
        ..ROW
    },
    Case {
        file: "18-gmail-dsn.eml",
        kind: Want::Bounce {
            recipients: &["no.such.user.4821@gmail.com"],
            status: Some("5.1.1"),
            permanent: true,
            original: Some("01000190acme-ticket-1322@email.acme.example"),
        },
        visible: Visible::Prefix("** Address not found **"),
        attachments: &["icon.png", "delivery-status.txt", "headers.txt"],
        ..ROW
    },
    Case {
        file: "19-exchange-ndr.eml",
        kind: Want::Bounce {
            recipients: &["former.employee@contoso.example"],
            status: Some("5.1.10"),
            permanent: true,
            original: Some("01000190acme-ticket-1330@email.acme.example"),
        },
        visible: Visible::Prefix(
            "Your message to former.employee@contoso.example couldn't be delivered.",
        ),
        attachments: &["delivery-status.txt", "message.eml"],
        ..ROW
    },
    Case {
        file: "20-delayed-dsn.eml",
        kind: Want::Bounce {
            recipients: &["customer@slow.example"],
            status: Some("4.4.1"),
            permanent: false,
            original: Some("01000190acme-ticket-1340@email.acme.example"),
        },
        visible: Visible::Prefix("This is the mail system"),
        attachments: &["delivery-status.txt", "headers.txt"],
        ..ROW
    },
    Case {
        file: "21-pdf-attachment.eml",
        visible: Visible::Exact("Here is the receipt you asked for."),
        attachments: &["receipt-2024-0611.pdf"],
        ..ROW
    },
    Case {
        file: "22-rfc2231-chinese-filename.eml",
        visible: Visible::Exact("请查收附件中的发票。"),
        subject: "发票",
        attachments: &["发票_2024年6月.pdf"],
        ..ROW
    },
    Case {
        file: "23-malformed-missing-boundary.eml",
        visible: Visible::Exact(
            "The connection dropped while I was sending this, but the first part arrived.",
        ),
        attachments: &["data.bin"],
        ..ROW
    },
    Case {
        file: "24-malformed-broken-base64.eml",
        visible: Visible::Exact("Hello, my account is locked."),
        attachments: &["photo.jpg"],
        ..ROW
    },
    Case {
        file: "25-malformed-bad-charset.eml",
        visible: Visible::Exact("My password reset link does not work."),
        ..ROW
    },
    Case {
        file: "26-malformed-header-without-colon.eml",
        visible: Visible::Exact("Please call me back."),
        subject: "Header without colon",
        from: "nocolon@example.net",
        ..ROW
    },
    Case {
        file: "27-binary-garbage.eml",
        kind: Want::Malformed,
        ..ROW
    },
    Case {
        file: "28-html-script-style.eml",
        visible: Visible::Prefix("New message from the contact form"),
        contains: &[
            "Olga Ivanova",
            "Where is my order? It's been two weeks & no update.",
        ],
        absent: &[
            "cookie", "fetch", "alert", "font-family", "color", "onclick", "track()", "<",
            "Contact form\n",
        ],
        has_html: Some(true),
        ..ROW
    },
    Case {
        file: "29-ticket-number-reply.eml",
        visible: Visible::Exact("Der Drucker funktioniert wieder, danke!"),
        absent: &["schrieb", "Firmware"],
        subject: "AW: Re: Printer broken [#1234]",
        ..ROW
    },
    Case {
        file: "30-plus-address.eml",
        visible: Visible::Exact("One more thing: the warranty card is missing from the box."),
        ..ROW
    },
    Case {
        file: "31-multipart-without-boundary.eml",
        visible: Visible::Exact("Is my subscription still active?"),
        ..ROW
    },
    Case {
        file: "32-8bit-headers.eml",
        visible: Visible::Exact("退款已经申请一周了，还没有到账。"),
        absent: &["iPhone"],
        subject: "退款什么时候到账？",
        from: "zhao@example.cn",
        ..ROW
    },
    Case {
        file: "33-deep-nesting.eml",
        visible: Visible::Exact("Found me at the bottom."),
        ..ROW
    },
    Case {
        file: "34-long-line.eml",
        visible: Visible::Prefix("Start word word"),
        contains: &["word end"],
        ..ROW
    },
    Case {
        file: "35-outlook-suppress-header.eml",
        visible: Visible::Prefix("Can we meet on Friday"),
        ..ROW
    },
    Case {
        file: "36-euc-kr.eml",
        visible: Visible::Exact("안녕하세요. 환불 요청드립니다.\n\n감사합니다."),
        subject: "환불 요청",
        ..ROW
    },
    Case {
        file: "37-read-receipt.eml",
        kind: Want::AutoReply,
        visible: Visible::Prefix("Your message was read"),
        attachments: &["disposition-notification.txt"],
        ..ROW
    },
    Case {
        file: "38-qmail-bounce-without-report.eml",
        kind: Want::Bounce {
            recipients: &["gone@oldhost.example"],
            status: Some("5.1.1"),
            permanent: true,
            original: Some("01000190acme-ticket-1360@email.acme.example"),
        },
        visible: Visible::Prefix("Hi. This is the qmail-send program"),
        absent: &["Below this line", "we replied"],
        ..ROW
    },
    Case {
        file: "39-chinese-bounce.eml",
        kind: Want::Bounce {
            recipients: &["nobody_here@126.example"],
            status: Some("5.1.1"),
            permanent: true,
            original: None,
        },
        visible: Visible::Prefix("您发送的邮件未能送达以下收件人"),
        subject: "系统退信",
        ..ROW
    },
    Case {
        file: "40-forward-as-attachment.eml",
        visible: Visible::Exact("See the attached complaint, please handle it."),
        attachments: &["Complaint.eml"],
        ..ROW
    },
    Case {
        file: "41-empty.eml",
        kind: Want::Malformed,
        ..ROW
    },
    Case {
        file: "42-iphone-reply.eml",
        visible: Visible::Exact("Yes, Tuesday morning works for me."),
        absent: &["Sent from my iPhone", "technician"],
        in_reply_to: &["01000190acme-furniture-4@email.acme.example"],
        ..ROW
    },
];

fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"))
}

#[test]
fn every_corpus_file_has_a_row_in_the_table_and_every_row_a_file() {
    let files: BTreeSet<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    let rows: BTreeSet<String> = TABLE.iter().map(|c| c.file.to_string()).collect();
    assert_eq!(rows.len(), TABLE.len(), "a file has two rows");
    let missing: Vec<_> = files.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&files).collect();
    assert!(missing.is_empty(), "files without a row: {missing:?}");
    assert!(stale.is_empty(), "rows without a file: {stale:?}");
    assert!(files.len() >= 32, "the corpus has {} messages", files.len());
}

#[test]
fn every_corpus_message_parses_as_its_row_says() {
    let mut failures = Vec::new();
    for case in TABLE {
        let raw = std::fs::read(corpus_dir().join(case.file)).unwrap();
        let result = parse(&raw, &Limits::default());
        let problems = match (&case.kind, result) {
            (Want::Malformed, Err(MailError::Malformed(_))) => Vec::new(),
            (Want::Malformed, other) => vec![format!("expected Malformed, got {other:?}")],
            (_, Err(e)) => vec![format!("refused: {e}")],
            (_, Ok(mail)) => check(case, &mail),
        };
        failures.extend(problems.into_iter().map(|p| format!("{}: {p}", case.file)));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check(case: &Case, mail: &Inbound) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    let visible = &mail.visible_text;
    match case.visible {
        Visible::Exact(want) => expect(visible == want, format!("visible text {visible:?}")),
        Visible::Prefix(want) => expect(
            visible.starts_with(want),
            format!("visible text {visible:?}"),
        ),
    }
    for s in case.contains {
        expect(
            visible.contains(s),
            format!("visible text lacks {s:?}: {visible:?}"),
        );
    }
    for s in case.absent {
        expect(
            !visible.contains(s),
            format!("visible text has {s:?}: {visible:?}"),
        );
    }
    expect(!visible.is_empty(), "visible text is empty".into());
    expect(
        visible.trim() == visible,
        format!("visible text is not trimmed: {visible:?}"),
    );
    let kind_ok = match (&case.kind, &mail.kind) {
        (Want::Person, Kind::Person) => true,
        (Want::AutoReply, Kind::AutoReply { reason }) => !reason.is_empty(),
        (Want::Bulk, Kind::Bulk { reason }) => !reason.is_empty(),
        (
            Want::Bounce {
                recipients,
                status,
                permanent,
                original,
            },
            Kind::Bounce(b),
        ) => {
            b.recipients == *recipients
                && b.status.as_deref() == *status
                && b.permanent == *permanent
                && b.original_message_id.as_deref() == *original
        }
        _ => false,
    };
    expect(kind_ok, format!("kind {:?}", mail.kind));
    if !case.subject.is_empty() {
        expect(
            mail.subject == case.subject,
            format!("subject {:?}", mail.subject),
        );
    }
    if !case.from.is_empty() {
        let from = mail.from.as_ref().map(|a| a.address.as_str());
        expect(from == Some(case.from), format!("from {from:?}"));
    }
    if !case.message_id.is_empty() {
        expect(
            mail.message_id.as_deref() == Some(case.message_id),
            format!("message id {:?}", mail.message_id),
        );
    }
    if !case.in_reply_to.is_empty() {
        expect(
            mail.in_reply_to == case.in_reply_to,
            format!("in-reply-to {:?}", mail.in_reply_to),
        );
    }
    let names: Vec<&str> = mail
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    expect(names == case.attachments, format!("attachments {names:?}"));
    if let Some(has_html) = case.has_html {
        expect(
            mail.has_html == has_html,
            format!("has_html {}", mail.has_html),
        );
    }
    problems
}

#[test]
fn every_corpus_message_has_a_date_and_a_message_id() {
    for case in TABLE.iter().filter(|c| !matches!(c.kind, Want::Malformed)) {
        let raw = std::fs::read(corpus_dir().join(case.file)).unwrap();
        let mail = parse(&raw, &Limits::default()).unwrap();
        assert!(
            mail.date.is_some_and(|d| d > 1_700_000_000),
            "{}",
            case.file
        );
        assert!(mail.message_id.is_some(), "{}", case.file);
    }
}
