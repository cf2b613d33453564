//! Knowledge-base search figures: `GET /v1/kb/search` over 10,000 published articles.
//!
//! The articles (half English, half Chinese) are generated deterministically from word lists
//! with Zipf-like word choice and loaded through `POST /v1/kb/articles/import`, 100 per request.
//! The host runs with `--reuse`, so an instance keeps the tenant's loaded index and answers
//! from memory after one read of the index's meta record; each instance's first query pays
//! the load, which the warm-up absorbs. wrk then picks a random query per request from English,
//! Chinese, misspelt and half-typed queries.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use edgedesk_e2e::Host;
use serde_json::{json, Value};

use crate::{run_wrk, Figures};

const EN_TOPIC: &[&str] = &[
    "account",
    "order",
    "payment",
    "refund",
    "password",
    "shipping",
    "delivery",
    "subscription",
    "invoice",
    "card",
    "email",
    "settings",
    "profile",
    "address",
    "billing",
    "plan",
    "return",
    "cancel",
    "update",
    "login",
    "security",
    "notification",
    "app",
    "device",
    "store",
    "product",
    "discount",
    "coupon",
    "price",
    "tax",
    "receipt",
    "tracking",
    "package",
    "warehouse",
    "exchange",
    "warranty",
    "repair",
    "replacement",
    "damaged",
    "missing",
    "invalid",
    "expired",
    "verification",
    "code",
    "phone",
    "bank",
    "transfer",
    "wallet",
    "balance",
    "credit",
    "charge",
    "fee",
    "currency",
    "region",
    "language",
    "customs",
    "label",
    "courier",
    "pickup",
    "locker",
    "schedule",
    "booking",
    "ticket",
    "support",
    "agent",
    "chat",
    "feedback",
    "review",
    "rating",
    "complaint",
    "manager",
    "team",
    "invitation",
    "permission",
    "role",
    "admin",
    "workspace",
    "integration",
    "webhook",
    "token",
    "export",
    "import",
    "backup",
    "restore",
    "sync",
    "upload",
    "download",
    "attachment",
    "document",
    "contract",
    "privacy",
    "cookie",
    "consent",
    "deletion",
    "report",
    "analytics",
    "dashboard",
    "widget",
    "browser",
    "mobile",
    "tablet",
    "desktop",
];
const EN_GENERAL: &[&str] = &[
    "the",
    "your",
    "to",
    "a",
    "you",
    "can",
    "and",
    "of",
    "in",
    "is",
    "for",
    "on",
    "with",
    "if",
    "we",
    "it",
    "after",
    "within",
    "when",
    "check",
    "open",
    "select",
    "choose",
    "click",
    "enter",
    "change",
    "add",
    "remove",
    "view",
    "find",
    "contact",
    "receive",
    "send",
    "need",
    "use",
    "create",
    "delete",
    "edit",
    "confirm",
    "verify",
    "wait",
    "try",
    "again",
    "new",
    "days",
    "hours",
    "business",
    "free",
    "available",
    "required",
    "help",
    "issue",
    "problem",
    "steps",
];
const ZH_WORDS: &[&str] = &[
    "订单",
    "账户",
    "退款",
    "支付",
    "密码",
    "发货",
    "物流",
    "会员",
    "发票",
    "优惠券",
    "地址",
    "手机",
    "验证码",
    "客服",
    "售后",
    "退货",
    "换货",
    "快递",
    "包裹",
    "商品",
    "价格",
    "余额",
    "银行卡",
    "信用卡",
    "微信",
    "支付宝",
    "积分",
    "活动",
    "设置",
    "登录",
    "注册",
    "绑定",
    "修改",
    "取消",
    "申请",
    "审核",
    "通过",
    "失败",
    "成功",
    "处理",
    "工作日",
    "小时",
    "时间",
    "页面",
    "点击",
    "选择",
    "填写",
    "提交",
    "确认",
    "查看",
    "联系",
    "问题",
    "原因",
    "方法",
    "步骤",
    "请",
    "您",
    "可以",
    "需要",
    "如何",
    "怎么",
    "已经",
    "无法",
    "的",
    "了",
    "和",
    "在",
    "后",
];

/// SplitMix64, so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A word with rank-weighted (Zipf-like) probability.
    fn zipf<'a>(&mut self, words: &[&'a str]) -> &'a str {
        let total: f64 = (1..=words.len()).map(|r| 1.0 / r as f64).sum();
        let mut x = (self.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (r, w) in words.iter().enumerate() {
            x -= 1.0 / (r + 1) as f64;
            if x <= 0.0 {
                return w;
            }
        }
        words[words.len() - 1]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn english(rng: &mut Rng, n: usize) -> Value {
    let title: Vec<&str> = (0..4).map(|_| rng.zipf(EN_TOPIC)).collect();
    let mut body = String::new();
    for _ in 0..(40 + rng.below(60)) {
        let w = if rng.below(3) == 0 {
            rng.zipf(EN_TOPIC)
        } else {
            rng.zipf(EN_GENERAL)
        };
        body.push_str(w);
        body.push(if rng.below(12) == 0 { '.' } else { ' ' });
    }
    json!({"title": format!("{} ({n})", title.join(" ")), "body": body, "locale": "en",
           "tags": [rng.zipf(EN_TOPIC)], "publish": true})
}

fn chinese(rng: &mut Rng, n: usize) -> Value {
    let title: String = (0..4).map(|_| rng.zipf(ZH_WORDS)).collect();
    let mut body = String::new();
    for _ in 0..(40 + rng.below(60)) {
        body.push_str(rng.zipf(ZH_WORDS));
        if rng.below(12) == 0 {
            body.push('。');
        }
    }
    json!({"title": format!("{title}（{n}）"), "body": body, "locale": "zh-CN", "publish": true})
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Seeds `articles` articles and prints search latency through the host.
pub fn run(articles: usize, seconds: u64) -> Result<()> {
    let host = Host::start_with(&["--reuse", "100000"]);
    let api = host.tenant("KB bench");
    let key = api.key.clone().context("admin key")?;
    let mut rng = Rng(0x5EED_CAFE);
    let started = Instant::now();
    let mut n = 0;
    while n < articles {
        let batch: Vec<Value> = (n..(n + 100).min(articles))
            .map(|i| {
                if i % 2 == 0 {
                    english(&mut rng, i)
                } else {
                    chinese(&mut rng, i)
                }
            })
            .collect();
        let len = batch.len();
        let (s, b) = api.post("/v1/kb/articles/import", &json!({ "articles": batch }));
        if s != 201 {
            bail!("import failed at article {n}: {s} {b}");
        }
        n += len;
    }
    println!(
        "seeded {articles} published articles (half English, half Chinese) in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let queries = [
        ("refund card", "en"),
        ("reset password", "en"),
        ("shipping delivery tracking", "en"),
        ("invoice billing", "en"),
        ("pasword", "en"),
        ("deliverry", "en"),
        ("subscrip", "en"),
        ("退款", "zh-CN"),
        ("修改密码", "zh-CN"),
        ("快递物流", "zh-CN"),
        ("发票怎么开", "zh-CN"),
        ("account", ""),
    ];
    for (q, l) in &queries {
        let mut path = format!("/v1/kb/search?q={}", urlencode(q));
        if !l.is_empty() {
            path.push_str(&format!("&locale={l}"));
        }
        let (s, b) = api.get(&path);
        if s != 200 || b["hits"].as_array().is_none_or(Vec::is_empty) {
            bail!("query {q:?} found nothing: {s} {b}");
        }
    }
    let paths = queries
        .iter()
        .map(|(q, l)| {
            let lp = if l.is_empty() {
                String::new()
            } else {
                format!("&locale={l}")
            };
            format!("\"/v1/kb/search?q={}{lp}\"", urlencode(q))
        })
        .collect::<Vec<_>>()
        .join(",");
    let lua = format!(
        "local paths = {{{paths}}}\nlocal headers = {{[\"Authorization\"] = \"Bearer {key}\"}}\n\
         request = function() return wrk.format(\"GET\", paths[math.random(#paths)], headers) end\n"
    );
    // Warm-up: every instance the host starts loads the index once.
    run_wrk(&host.base, &lua, 16, 3)?;
    println!(
        "{:<30} {:>5} {:>10} {:>9} {:>9} {:>7}",
        "route", "conns", "req/s", "p50 ms", "p99 ms", "non2xx"
    );
    for conns in [1usize, 4, 16] {
        let Figures {
            rps,
            p50_ms,
            p99_ms,
            errors,
            ..
        } = run_wrk(&host.base, &lua, conns, seconds)?;
        println!(
            "{:<30} {:>5} {:>10.0} {:>9.2} {:>9.2} {:>7}",
            format!("GET /v1/kb/search ({articles})"),
            conns,
            rps,
            p50_ms,
            p99_ms,
            errors
        );
    }
    Ok(())
}
