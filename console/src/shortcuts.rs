//! Keyboard shortcuts: which key press means which action.
//!
//! One window-wide listener feeds key presses through [`Decoder`]; the views act on the
//! resulting [`Action`]s. Letters never fire while the agent types in a text field (there
//! they are text), but Escape and Ctrl/⌘+Enter do.

/// What a shortcut asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Next,
    Prev,
    Open,
    Reply,
    Note,
    Resolve,
    AssignToMe,
    Send,
    GoInbox,
    GoTickets,
    GoSettings,
    Search,
    Help,
    Escape,
}

/// A key press, as much of it as the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Press<'a> {
    /// `KeyboardEvent.key`.
    pub key: &'a str,
    pub ctrl_or_meta: bool,
    pub alt: bool,
    /// Focus is in an input, textarea, select or contenteditable element.
    pub in_text_field: bool,
}

/// Turns key presses into actions, remembering a pending `g` for two-key sequences.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Decoder {
    pending_g: bool,
}

impl Decoder {
    pub fn decode(&mut self, p: Press<'_>) -> Option<Action> {
        if p.key == "Escape" {
            self.pending_g = false;
            return Some(Action::Escape);
        }
        if p.key == "Enter" && p.ctrl_or_meta {
            self.pending_g = false;
            return Some(Action::Send);
        }
        if p.in_text_field || p.ctrl_or_meta || p.alt {
            self.pending_g = false;
            return None;
        }
        if std::mem::take(&mut self.pending_g) {
            return match p.key {
                "i" => Some(Action::GoInbox),
                "t" => Some(Action::GoTickets),
                "s" => Some(Action::GoSettings),
                _ => None,
            };
        }
        match p.key {
            "g" => {
                self.pending_g = true;
                None
            }
            "j" | "ArrowDown" => Some(Action::Next),
            "k" | "ArrowUp" => Some(Action::Prev),
            "Enter" | "o" => Some(Action::Open),
            "r" => Some(Action::Reply),
            "n" => Some(Action::Note),
            "e" => Some(Action::Resolve),
            "a" => Some(Action::AssignToMe),
            "/" => Some(Action::Search),
            "?" => Some(Action::Help),
            _ => None,
        }
    }
}

/// The shortcuts the help overlay lists: keys and what they do.
pub const HELP: &[(&str, crate::i18n::Msg)] = {
    use crate::i18n::Msg;
    &[
        ("j / k", Msg::KeyNextPrev),
        ("Enter / o", Msg::KeyOpen),
        ("r", Msg::KeyReply),
        ("n", Msg::KeyNote),
        ("e", Msg::KeyResolve),
        ("a", Msg::KeyAssignMe),
        ("Ctrl / ⌘ + Enter", Msg::KeySend),
        ("g i", Msg::KeyGoInbox),
        ("g t", Msg::KeyGoTickets),
        ("g s", Msg::KeyGoSettings),
        ("/", Msg::KeySearch),
        ("?", Msg::KeyHelp),
        ("Esc", Msg::KeyEscape),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Press<'_> {
        Press {
            key: k,
            ctrl_or_meta: false,
            alt: false,
            in_text_field: false,
        }
    }

    fn typing(k: &str) -> Press<'_> {
        Press {
            in_text_field: true,
            ..key(k)
        }
    }

    #[test]
    fn letters_typed_into_a_text_field_stay_text() {
        let mut d = Decoder::default();
        for k in ["j", "k", "r", "e", "?", "g"] {
            assert_eq!(d.decode(typing(k)), None, "{k}");
        }
    }

    #[test]
    fn escape_and_ctrl_enter_work_even_while_typing() {
        let mut d = Decoder::default();
        assert_eq!(d.decode(typing("Escape")), Some(Action::Escape));
        let send = Press {
            ctrl_or_meta: true,
            ..typing("Enter")
        };
        assert_eq!(d.decode(send), Some(Action::Send));
    }

    #[test]
    fn g_then_a_letter_navigates() {
        let mut d = Decoder::default();
        assert_eq!(d.decode(key("g")), None);
        assert_eq!(d.decode(key("t")), Some(Action::GoTickets));
        assert_eq!(d.decode(key("g")), None);
        assert_eq!(d.decode(key("i")), Some(Action::GoInbox));
    }

    #[test]
    fn a_pending_g_is_forgotten_after_any_other_key() {
        let mut d = Decoder::default();
        d.decode(key("g"));
        assert_eq!(d.decode(key("x")), None);
        assert_eq!(d.decode(key("t")), None);
        d.decode(key("g"));
        d.decode(typing("t"));
        assert_eq!(d.decode(key("j")), Some(Action::Next));
    }

    #[test]
    fn single_keys_map_to_their_actions() {
        let mut d = Decoder::default();
        let expected = [
            ("j", Action::Next),
            ("k", Action::Prev),
            ("Enter", Action::Open),
            ("r", Action::Reply),
            ("n", Action::Note),
            ("e", Action::Resolve),
            ("a", Action::AssignToMe),
            ("?", Action::Help),
            ("/", Action::Search),
        ];
        for (k, a) in expected {
            assert_eq!(d.decode(key(k)), Some(a), "{k}");
        }
    }

    #[test]
    fn browser_shortcuts_with_modifiers_are_left_alone() {
        let mut d = Decoder::default();
        let ctrl_r = Press {
            ctrl_or_meta: true,
            ..key("r")
        };
        assert_eq!(d.decode(ctrl_r), None);
        let alt_e = Press {
            alt: true,
            ..key("e")
        };
        assert_eq!(d.decode(alt_e), None);
    }
}
