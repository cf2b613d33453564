//! Keys of a tenant's public channel ([`super::public_actor`]): one small record that every
//! open widget's feed watches, written only when what it says changes.

/// The channel's current record (`edgedesk_shared::feed::PublicInfo`).
pub const STATE: &str = "state";

#[cfg(test)]
mod tests {
    #[test]
    fn public_keys_stay_as_stored() {
        assert_eq!(super::STATE, "state");
    }
}
