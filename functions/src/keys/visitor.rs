//! Keys of a visitor's actor ([`super::visitor_actor`]): one small record whose writes wake
//! the visitor's feed. It is written when something the visitor's widget follows moves to
//! another actor (a conversation opens), never for the rest of the tenant's traffic.

/// The conversation the contact's widget follows now (its id as text).
pub const BELL: &str = "bell";

#[cfg(test)]
mod tests {
    #[test]
    fn visitor_keys_stay_as_stored() {
        assert_eq!(super::BELL, "bell");
    }
}
