//! Keys of a tenant's attachments actor ([`super::blob_actor`]): uploaded files by id.

/// The bytes of an uploaded file.
pub fn content(id: &str) -> String {
    format!("blob:{id}")
}

/// An uploaded file's name, type, size and uploader.
pub fn meta(id: &str) -> String {
    format!("meta:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_keys_stay_as_stored() {
        assert_eq!(content("18f2a"), "blob:18f2a");
        assert_eq!(meta("18f2a"), "meta:18f2a");
    }
}
