//! Knowledge-base search benchmark.
//!
//! Builds an index of synthetic help-center articles (English and Chinese, generated
//! deterministically from seeded word lists with Zipf-distributed word choice, so a few words
//! are everywhere and most are rare, as in real text), then reports index size, build and load
//! times, the cost of an incremental update, and query latency percentiles for English,
//! Chinese, typo and type-ahead queries.
//!
//! Each query is timed twice: wall-clock, and (on Unix) the CPU time of the thread. On a shared
//! machine the wall-clock tail mostly measures waiting for a core; the CPU time is what the
//! query itself costs.
//!
//! `cargo run --release -p edgedesk-search --example bench [-- ARTICLES [QUERIES_PER_KIND]
//! [--misses]]`; `--misses` lists the queries that found nothing.

use std::time::{Duration, Instant};

use edgedesk_search::{Article, Change, Index, SearchRequest};

/// Topic words of an English help center, most frequent first.
#[rustfmt::skip]
const EN_TOPIC: &[&str] = &[
    "account", "order", "payment", "refund", "password", "shipping", "delivery", "subscription",
    "invoice", "card", "email", "settings", "profile", "address", "billing", "plan", "return",
    "cancel", "update", "login", "security", "notification", "app", "device", "store", "product",
    "discount", "coupon", "price", "tax", "receipt", "tracking", "package", "warehouse", "exchange",
    "warranty", "repair", "replacement", "damaged", "missing", "invalid", "expired", "verification",
    "code", "phone", "number", "bank", "transfer", "wallet", "balance", "credit", "debit", "charge",
    "fee", "currency", "region", "language", "country", "customs", "duty", "label", "courier",
    "pickup", "locker", "schedule", "appointment", "reservation", "booking", "ticket", "support",
    "agent", "chat", "callback", "feedback", "review", "rating", "complaint", "escalation",
    "manager", "team", "member", "invitation", "permission", "role", "admin", "owner", "workspace",
    "project", "integration", "webhook", "token", "api", "export", "import", "backup", "restore",
    "sync", "upload", "download", "attachment", "file", "photo", "document", "contract",
    "agreement", "policy", "privacy", "cookie", "consent", "data", "deletion", "request", "report",
    "analytics", "dashboard", "widget", "browser", "extension", "mobile", "tablet", "desktop",
    "version", "release", "feature", "beta", "trial", "upgrade", "downgrade", "renewal", "license",
    "seat", "quota", "limit", "storage", "bandwidth", "outage", "maintenance", "status", "incident",
    "error", "crash", "bug", "performance", "speed", "connection", "network", "proxy", "firewall",
    "domain", "certificate", "ssl", "redirect", "link", "button", "menu", "page", "screen",
    "keyboard", "shortcut", "theme", "accessibility", "font", "display", "sound", "camera",
    "microphone", "bluetooth", "battery", "charger", "cable", "adapter", "printer", "scanner",
    "router", "modem", "firmware", "driver", "installation", "setup", "configuration", "reset",
    "recovery", "authenticator", "gift", "voucher", "loyalty", "points", "reward", "referral",
    "partner", "affiliate", "vendor", "supplier", "inventory", "stock", "backorder", "preorder",
    "bundle", "size", "color", "fit", "material", "care", "instructions", "manual", "guide",
    "tutorial", "webinar", "training", "certification", "community", "forum", "newsletter",
    "unsubscribe", "spam", "phishing", "fraud", "dispute", "chargeback", "lock", "suspension",
    "appeal",
];

/// Verbs and general words that glue English sentences together.
#[rustfmt::skip]
const EN_GENERAL: &[&str] = &[
    "the", "your", "to", "a", "you", "can", "and", "of", "in", "is", "for", "on", "with", "if",
    "we", "it", "be", "this", "from", "will", "or", "after", "before", "within", "when", "check",
    "open", "select", "choose", "click", "tap", "enter", "change", "add", "remove", "view", "find",
    "contact", "receive", "send", "make", "need", "use", "create", "delete", "edit", "confirm",
    "verify", "wait", "try", "again", "new", "old", "current", "first", "next", "last", "each",
    "all", "any", "some", "more", "most", "only", "also", "usually", "automatically", "manually",
    "immediately", "days", "hours", "minutes", "business", "working", "free", "available",
    "unavailable", "possible", "required", "optional", "help", "issue", "problem", "question",
    "answer", "information", "details", "steps", "option", "method", "time", "date", "amount",
    "total", "original", "full", "partial", "successful", "failed", "pending", "approved",
    "declined", "processing", "shipped", "delivered", "returned", "cancelled", "refunded",
    "charged", "sent", "received", "opened", "closed", "see", "learn", "read", "follow", "keep",
    "sure", "note", "please", "then",
];

/// Chinese help-center words, most frequent first.
#[rustfmt::skip]
const ZH_WORDS: &[&str] = &[
    "订单", "账户", "退款", "支付", "密码", "发货", "物流", "会员", "发票", "优惠券", "地址", "手机", "验证码", "客服", "售后",
    "退货", "换货", "快递", "包裹", "商品", "价格", "余额", "银行卡", "信用卡", "微信", "支付宝", "积分", "活动", "设置", "登录",
    "注册", "绑定", "解绑", "修改", "取消", "申请", "审核", "通过", "失败", "成功", "处理", "工作日", "小时", "分钟", "时间", "页面",
    "点击", "选择", "填写", "提交", "确认", "查看", "联系", "咨询", "问题", "原因", "方法", "步骤", "说明", "规则", "政策", "隐私",
    "安全", "风险", "冻结", "解冻", "注销", "实名", "认证", "身份证", "人脸", "识别", "升级", "版本", "下载", "安装", "更新", "通知",
    "消息", "短信", "邮件", "电话", "在线", "人工", "自动", "系统", "网络", "异常", "错误", "故障", "维护", "恢复", "备份", "数据",
    "导出", "导入", "权限", "管理员", "团队", "成员", "邀请", "套餐", "续费", "到期", "试用", "免费", "收费", "金额", "手续费",
    "汇率", "海关", "关税", "仓库", "库存", "预售", "缺货", "尺码", "颜色", "质量", "保修", "维修", "更换", "损坏", "丢失", "签收",
    "拒收", "配送", "自提", "门店", "预约", "评价", "投诉", "反馈", "建议", "奖励", "推荐", "返现", "红包", "折扣", "满减", "运费",
    "包邮", "退回", "原路", "到账", "提现", "充值", "转账", "钱包", "开具", "电子", "纸质", "抬头", "税号", "企业", "个人", "合同",
    "协议", "条款", "用户", "商家", "平台", "应用", "设备", "电脑", "平板", "浏览器", "缓存", "清除", "重启", "网页", "链接", "按钮",
    "菜单", "首页", "我的", "请", "您", "可以", "需要", "如何", "怎么", "为什么", "是否", "已经", "无法", "不能", "将", "在",
    "后", "前", "内", "的", "了", "和", "或", "如果", "然后", "通常",
];

/// Latin product words that appear inside Chinese articles.
#[rustfmt::skip]
const ZH_LATIN: &[&str] = &[
    "iPhone", "App", "VIP", "PayPal", "Android", "iOS", "PDF", "Wi-Fi",
];

#[rustfmt::skip]
const TAGS_EN: &[&str] = &[
    "billing", "orders", "shipping", "account", "security", "mobile", "returns", "api",
];
const TAGS_ZH: &[&str] = &["账单", "订单", "物流", "账户", "安全", "售后", "会员"];

/// SplitMix64: a tiny, seedable generator so the corpus is identical on every run and platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Picks words with Zipf-like probabilities (rank r has weight 1/(r+1)).
struct Zipf<'a> {
    words: &'a [&'a str],
    cumulative: Vec<f64>,
}

impl<'a> Zipf<'a> {
    fn new(words: &'a [&'a str]) -> Self {
        let mut total = 0.0;
        let cumulative = (0..words.len())
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Zipf { words, cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> &'a str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let i = self.cumulative.partition_point(|&c| c < x);
        self.words[i.min(self.words.len() - 1)]
    }
}

struct Corpus<'a> {
    en_topic: Zipf<'a>,
    en_general: Zipf<'a>,
    zh: Zipf<'a>,
}

impl Corpus<'_> {
    fn new() -> Self {
        Corpus {
            en_topic: Zipf::new(EN_TOPIC),
            en_general: Zipf::new(EN_GENERAL),
            zh: Zipf::new(ZH_WORDS),
        }
    }

    fn english(&self, rng: &mut Rng, id: usize) -> Article {
        let mut title: Vec<String> = (0..rng.range(2, 6))
            .map(|_| self.en_topic.pick(rng).to_string())
            .collect();
        if rng.chance(0.5) {
            title.insert(
                0,
                ["How to", "Why", "Can I", "Troubleshooting"][rng.below(4)].into(),
            );
        }
        if let Some(first) = title.first_mut() {
            *first = capitalise(first);
        }
        let mut body = String::new();
        for _ in 0..rng.range(4, 12) {
            let mut sentence: Vec<&str> = Vec::new();
            for _ in 0..rng.range(8, 22) {
                sentence.push(if rng.chance(0.4) {
                    self.en_topic.pick(rng)
                } else {
                    self.en_general.pick(rng)
                });
            }
            body.push_str(&capitalise(&sentence.join(" ")));
            body.push_str(". ");
        }
        Article {
            id: format!("art_en_{id:05}"),
            locale: "en".into(),
            title: title.join(" "),
            body,
            tags: (0..rng.range(1, 3))
                .map(|_| TAGS_EN[rng.below(TAGS_EN.len())].to_string())
                .collect(),
        }
    }

    fn chinese(&self, rng: &mut Rng, id: usize) -> Article {
        let title: String = (0..rng.range(2, 5)).map(|_| self.zh.pick(rng)).collect();
        let mut body = String::new();
        for _ in 0..rng.range(4, 12) {
            for clause in 0..rng.range(1, 3) {
                if clause > 0 {
                    body.push('，');
                }
                for _ in 0..rng.range(4, 10) {
                    if rng.chance(0.03) {
                        body.push(' ');
                        body.push_str(ZH_LATIN[rng.below(ZH_LATIN.len())]);
                        body.push(' ');
                    } else {
                        body.push_str(self.zh.pick(rng));
                    }
                }
            }
            body.push('。');
        }
        Article {
            id: format!("art_zh_{id:05}"),
            locale: "zh-CN".into(),
            title,
            body,
            tags: (0..rng.range(1, 2))
                .map(|_| TAGS_ZH[rng.below(TAGS_ZH.len())].to_string())
                .collect(),
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A word with one typo: a transposition, a substitution, a deletion or an insertion.
fn misspell(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let i = rng.range(1, chars.len() - 2);
    match rng.below(4) {
        0 => chars.swap(i, i + 1),
        1 => chars[i] = (b'a' + rng.below(26) as u8) as char,
        2 => {
            chars.remove(i);
        }
        _ => chars.insert(i, (b'a' + rng.below(26) as u8) as char),
    }
    chars.into_iter().collect()
}

struct Query {
    text: String,
    locale: Option<&'static str>,
    as_you_type: bool,
}

fn queries(corpus: &Corpus<'_>, rng: &mut Rng, per_kind: usize) -> Vec<(&'static str, Vec<Query>)> {
    let english = (0..per_kind)
        .map(|i| Query {
            text: (0..rng.range(1, 3))
                .map(|_| corpus.en_topic.pick(rng))
                .collect::<Vec<_>>()
                .join(" "),
            locale: (i % 2 == 0).then_some("en"),
            as_you_type: false,
        })
        .collect();
    let chinese = (0..per_kind)
        .map(|i| Query {
            text: (0..rng.range(1, 3)).map(|_| corpus.zh.pick(rng)).collect(),
            locale: (i % 2 == 0).then_some("zh-CN"),
            as_you_type: false,
        })
        .collect();
    let long_words: Vec<&str> = EN_TOPIC.iter().copied().filter(|w| w.len() >= 5).collect();
    let typo = (0..per_kind)
        .map(|_| {
            let mut words: Vec<String> = (0..rng.range(0, 1))
                .map(|_| corpus.en_topic.pick(rng).to_string())
                .collect();
            let word = long_words[rng.below(long_words.len())];
            words.push(misspell(rng, word));
            Query {
                text: words.join(" "),
                locale: Some("en"),
                as_you_type: false,
            }
        })
        .collect();
    let prefix = (0..per_kind)
        .map(|_| {
            let mut words: Vec<String> = (0..rng.range(0, 2))
                .map(|_| corpus.en_topic.pick(rng).to_string())
                .collect();
            let last = corpus.en_topic.pick(rng);
            let cut = rng.range(1, last.chars().count().max(2) - 1);
            words.push(last.chars().take(cut).collect());
            Query {
                text: words.join(" "),
                locale: Some("en"),
                as_you_type: true,
            }
        })
        .collect();
    vec![
        ("english", english),
        ("chinese", chinese),
        ("typo", typo),
        ("prefix", prefix),
    ]
}

/// CPU time consumed by this thread so far, where the platform reports it.
#[cfg(unix)]
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given, which lives on this stack.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// Wall-clock and CPU time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu = thread_cpu();
    let wall = Instant::now();
    let out = f();
    let wall = wall.elapsed();
    let cpu = cpu.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a));
    (out, wall, cpu)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Wall-clock and, where known, CPU milliseconds.
fn millis(wall: Duration, cpu: Option<Duration>) -> String {
    let mut out = format!("{:.1} ms", wall.as_secs_f64() * 1e3);
    if let Some(cpu) = cpu {
        out.push_str(&format!(" ({:.1} ms CPU)", cpu.as_secs_f64() * 1e3));
    }
    out
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_misses = args.iter().any(|a| a == "--misses");
    let mut numbers = args.iter().filter_map(|a| a.parse::<usize>().ok());
    let articles = numbers.next().unwrap_or(10_000);
    let per_kind = numbers.next().unwrap_or(1_000);

    let corpus = Corpus::new();
    let mut rng = Rng(0x5EED_0000_0000_2024);
    let docs: Vec<Article> = (0..articles)
        .map(|i| {
            if i % 5 < 3 {
                corpus.english(&mut rng, i)
            } else {
                corpus.chinese(&mut rng, i)
            }
        })
        .collect();
    let text_bytes: usize = docs.iter().map(|a| a.title.len() + a.body.len()).sum();
    println!(
        "corpus: {} articles ({} en, {} zh-CN), {} of title and body text",
        docs.len(),
        docs.iter().filter(|a| a.locale == "en").count(),
        docs.iter().filter(|a| a.locale != "en").count(),
        mib(text_bytes)
    );

    let mut index = Index::new("kb:idx:");
    let (result, build_wall, build_cpu) =
        timed(|| index.apply(docs.iter().cloned().map(Change::Upsert)));
    let writes = match result {
        Ok(w) => w,
        Err(e) => {
            eprintln!("indexing failed: {e}");
            std::process::exit(1);
        }
    };
    let stats = index.stats();
    let records = index.records();
    let (mut postings_bytes, mut doc_bytes) = (0, 0);
    for (k, v) in &records {
        if k.starts_with("kb:idx:t:") {
            postings_bytes += k.len() + v.len();
        } else {
            doc_bytes += k.len() + v.len();
        }
    }
    println!(
        "build: {} for one batch of {} writes; {} terms, {} word forms, {} postings",
        millis(build_wall, build_cpu),
        writes.puts.len() + writes.deletes.len(),
        stats.terms,
        stats.word_forms,
        stats.postings
    );
    println!(
        "index size: {} records, {} in total = {} postings + {} article records (stored text for snippets)",
        records.len(),
        mib(postings_bytes + doc_bytes),
        mib(postings_bytes),
        mib(doc_bytes)
    );

    // Loaded three times: a JIT-compiling WebAssembly runtime runs the first, one long call,
    // before optimising it; the last load is the steady-state cost.
    let mut loads = Vec::new();
    let mut loaded = None;
    for _ in 0..3 {
        let (result, wall, cpu) =
            timed(|| Index::from_records("kb:idx:", records.iter().map(|(k, v)| (k, v))));
        match result {
            Ok(i) => loaded = Some(i),
            Err(e) => {
                eprintln!("loading failed: {e}");
                std::process::exit(1);
            }
        }
        loads.push(millis(wall, cpu));
    }
    let Some(loaded) = loaded else {
        return;
    };
    println!("load from records (three times): {}", loads.join(", "));
    let ((), prep_wall, prep_cpu) = timed(|| loaded.prepare());
    println!(
        "prepare (typo dictionary + automata): {}",
        millis(prep_wall, prep_cpu)
    );
    let mut index = loaded;

    // Incremental updates: edit one sentence of existing articles.
    let mut update_wall = Vec::new();
    let mut update_cpu = Vec::new();
    let mut update_records = 0;
    let mut update_bytes = 0;
    for i in 0..200 {
        let mut a = docs[(i * 37) % docs.len()].clone();
        a.body.push_str(if a.locale == "en" {
            " Contact support if the tracking number is invalid."
        } else {
            "如有问题请联系在线客服。"
        });
        let (result, wall, cpu) = timed(|| index.upsert(a));
        let w = match result {
            Ok(w) => w,
            Err(e) => {
                eprintln!("update failed: {e}");
                std::process::exit(1);
            }
        };
        update_wall.push(wall);
        update_cpu.extend(cpu);
        update_records += w.puts.len() + w.deletes.len();
        update_bytes += w.byte_size();
    }
    println!(
        "incremental update of one article: {:.0} records / {:.1} KiB written on average",
        update_records as f64 / 200.0,
        update_bytes as f64 / 200.0 / 1024.0
    );
    report("update", &mut update_wall, &mut update_cpu);
    index.prepare();

    let kinds = queries(&corpus, &mut rng, per_kind);
    // Warm-up pass, then the measured one.
    for (_, qs) in &kinds {
        for q in qs {
            run(&index, q);
        }
    }
    let mut all_wall = Vec::new();
    let mut all_cpu = Vec::new();
    println!("queries (10 hits with snippets each), wall-clock | thread CPU time:");
    for (kind, qs) in &kinds {
        let mut wall = Vec::with_capacity(qs.len());
        let mut cpu = Vec::with_capacity(qs.len());
        let mut found = 0;
        for q in qs {
            let (hits, w, c) = timed(|| run(&index, q));
            wall.push(w);
            cpu.extend(c);
            found += usize::from(hits > 0);
            if hits == 0 && show_misses {
                println!("    miss: {:?}", q.text);
            }
        }
        report(kind, &mut wall, &mut cpu);
        println!(
            "           {}% of {kind} queries found something",
            found * 100 / qs.len().max(1)
        );
        all_wall.extend(wall);
        all_cpu.extend(cpu);
    }
    report("all", &mut all_wall, &mut all_cpu);
}

fn report(kind: &str, wall: &mut [Duration], cpu: &mut [Duration]) {
    wall.sort_unstable();
    cpu.sort_unstable();
    let mut line = format!(
        "  {kind:8} n={:<5} p50 {:>7} p99 {:>7} max {:>7}",
        wall.len(),
        micros(percentile(wall, 0.5)),
        micros(percentile(wall, 0.99)),
        micros(wall.last().copied().unwrap_or_default())
    );
    if !cpu.is_empty() {
        line.push_str(&format!(
            " | p50 {:>7} p99 {:>7} max {:>7}",
            micros(percentile(cpu, 0.5)),
            micros(percentile(cpu, 0.99)),
            micros(cpu.last().copied().unwrap_or_default())
        ));
    }
    println!("{line}");
}

fn run(index: &Index, q: &Query) -> usize {
    let mut req = SearchRequest::new(&q.text);
    if let Some(l) = q.locale {
        req = req.locale(l);
    }
    if q.as_you_type {
        req = req.as_you_type();
    }
    index.search(&req).hits.len()
}
