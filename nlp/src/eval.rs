//! Reading `text,label` CSV data and scoring predictions: what the evaluation command prints.

use crate::intent::Example;
use crate::NlpError;

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of fields.
pub fn parse_csv(data: &str) -> Result<Vec<Vec<String>>, NlpError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = data.chars().peekable();
    let mut line = 1;
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
                line += 1;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(NlpError::Csv {
            line,
            message: "unterminated quoted field".into(),
        });
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Reads labelled examples from CSV. With a header naming a `text` column and a `label`,
/// `category` or `intent` column those are used; otherwise the first two columns are text and
/// label.
pub fn examples_from_csv(data: &str) -> Result<Vec<Example>, NlpError> {
    let rows = parse_csv(data.trim_start_matches('\u{feff}'))?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let lower: Vec<String> = first.iter().map(|h| h.trim().to_lowercase()).collect();
    let text_col = lower
        .iter()
        .position(|h| h == "text" || h == "utterance" || h == "query");
    let label_col = lower
        .iter()
        .position(|h| h == "label" || h == "category" || h == "intent");
    let (t, l, skip) = match (text_col, label_col) {
        (Some(t), Some(l)) => (t, l, 1),
        _ => (0, 1, 0),
    };
    rows.iter()
        .enumerate()
        .skip(skip)
        .map(|(i, r)| match (r.get(t), r.get(l)) {
            (Some(text), Some(label)) if !label.trim().is_empty() => {
                Ok(Example::new(text.trim(), label.trim()))
            }
            _ => Err(NlpError::Csv {
                line: i + 1,
                message: "row lacks a text or a label".into(),
            }),
        })
        .collect()
}

/// Accuracy and macro-averaged F1 over the labels present in the gold data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    pub macro_f1: f64,
}

pub fn score(gold: &[&str], predicted: &[&str]) -> Scores {
    assert_eq!(gold.len(), predicted.len(), "one prediction per gold label");
    if gold.is_empty() {
        return Scores {
            accuracy: 0.0,
            macro_f1: 0.0,
        };
    }
    let mut labels: Vec<&str> = gold.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let correct = gold.iter().zip(predicted).filter(|(g, p)| g == p).count();
    let mut f1_sum = 0.0;
    for l in &labels {
        let tp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| *g == l && *p == l)
            .count() as f64;
        let fp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| *g != l && *p == l)
            .count() as f64;
        let fnn = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| *g == l && *p != l)
            .count() as f64;
        let prec = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let rec = if tp + fnn > 0.0 { tp / (tp + fnn) } else { 0.0 };
        f1_sum += if prec + rec > 0.0 {
            2.0 * prec * rec / (prec + rec)
        } else {
            0.0
        };
    }
    Scores {
        accuracy: correct as f64 / gold.len() as f64,
        macro_f1: f1_sum / labels.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_commas_and_crlf() {
        let rows = parse_csv("text,label\r\n\"a, \"\"b\"\"\",x\r\nplain,y\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["text", "label"],
                vec!["a, \"b\"", "x"],
                vec!["plain", "y"]
            ]
        );
        assert!(parse_csv("\"open").is_err());
    }

    #[test]
    fn examples_use_named_columns_or_the_first_two() {
        let ex = examples_from_csv("id,category,text\n1,card,where is it\n").unwrap();
        assert_eq!(ex, vec![Example::new("where is it", "card")]);
        let ex = examples_from_csv("hello,greet\n").unwrap();
        assert_eq!(ex, vec![Example::new("hello", "greet")]);
        assert!(examples_from_csv("text,label\nlonely\n").is_err());
    }

    #[test]
    fn macro_f1_averages_per_label_f1() {
        let s = score(&["a", "a", "b", "b"], &["a", "b", "b", "b"]);
        assert_eq!(s.accuracy, 0.75);
        // a: p=1 r=.5 f=2/3; b: p=2/3 r=1 f=.8
        assert!((s.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
    }
}
