//! Read-only data the handlers use, which a runtime may supply at start instead of compiling in.
//!
//! Three data sets are large and never change between deployments of one build: the IANA time
//! zone database (SLA calendars, the bot's dates), the learned sentiment weights and the
//! knowledge-base search's folding tables. With the `bundled-data` feature (the default: the
//! local host and Spin) all are compiled in. The
//! Cloudflare Worker builds without it, since its bundle has a size budget: its build writes the
//! same bytes as files ([`export`]) into the Worker's static assets, and the Worker installs
//! them ([`install`]) before it serves its first request, so every runtime evaluates the same
//! data.

/// Why a data file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data file {file}: {reason}")]
pub struct DatasetError {
    pub file: &'static str,
    pub reason: String,
}

/// One data set: the file it travels as, and how it is installed.
pub struct Dataset {
    /// The file name (under `/_data/` in the Worker's static assets).
    pub file: &'static str,
    ready: fn() -> bool,
    install: fn(Vec<u8>) -> Result<(), String>,
    /// The compiled-in copy as that file.
    #[cfg(feature = "bundled-data")]
    export: fn() -> Vec<u8>,
}

impl Dataset {
    /// Whether this instance has the data (compiled in, or installed already).
    pub fn ready(&self) -> bool {
        (self.ready)()
    }
}

/// Every data set a build without `bundled-data` must install.
pub const DATASETS: &[Dataset] = &[
    Dataset {
        file: "tzdb.bin",
        ready: || cfg!(feature = "bundled-data") || edgedesk_tz::installed(),
        install: |bytes| edgedesk_tz::install(bytes).map_err(|e| e.to_string()),
        #[cfg(feature = "bundled-data")]
        export: edgedesk_tz::database::export,
    },
    Dataset {
        file: "sentiment-weights.bin",
        ready: edgedesk_nlp::sentiment::weights_ready,
        install: |bytes| edgedesk_nlp::sentiment::install_weights(bytes).map_err(|e| e.to_string()),
        #[cfg(feature = "bundled-data")]
        export: || edgedesk_nlp::sentiment::export_weights().to_vec(),
    },
    Dataset {
        file: "search-fold.bin",
        ready: edgedesk_search::fold_tables_ready,
        install: |bytes| edgedesk_search::install_fold_tables(&bytes).map_err(|e| e.to_string()),
        #[cfg(feature = "bundled-data")]
        export: edgedesk_search::export_fold_tables,
    },
];

/// Installs `bytes` as the data set `dataset`. Installing what this instance already has (two
/// first requests racing) is not an error; refused bytes leave nothing installed.
pub fn install(dataset: &Dataset, bytes: Vec<u8>) -> Result<(), DatasetError> {
    if dataset.ready() {
        return Ok(());
    }
    (dataset.install)(bytes).map_err(|reason| DatasetError {
        file: dataset.file,
        reason,
    })
}

/// The compiled-in data sets as files, for a runtime that installs them (the Worker's build).
#[cfg(feature = "bundled-data")]
pub fn export() -> Vec<(&'static str, Vec<u8>)> {
    DATASETS.iter().map(|d| (d.file, (d.export)())).collect()
}

#[cfg(all(test, feature = "bundled-data"))]
mod tests {
    use super::*;

    #[test]
    fn every_data_set_is_exported_under_its_file_name_and_reads_back() {
        let exported = export();
        let names: Vec<&str> = exported.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            names,
            ["tzdb.bin", "sentiment-weights.bin", "search-fold.bin"]
        );
        let (_, tzdb) = &exported[0];
        let database =
            edgedesk_tz::Database::parse(tzdb.clone()).expect("exported database parses");
        assert!(database.names().any(|n| n == "Europe/Berlin"));
        assert_eq!(exported[1].1.len(), 1 << 18);
        // The search tables parse: installing them is at most a second install (they are
        // compiled in here), never a refusal of the file.
        let fold = edgedesk_search::install_fold_tables(&exported[2].1);
        assert!(
            matches!(
                fold,
                Ok(()) | Err(edgedesk_search::FoldTablesError::AlreadyInstalled)
            ),
            "{fold:?}"
        );
    }

    #[test]
    fn a_build_with_the_data_compiled_in_has_every_data_set_ready() {
        assert!(DATASETS.iter().all(Dataset::ready));
        // Nothing to install: the bytes are not even looked at.
        assert_eq!(install(&DATASETS[0], b"not a database".to_vec()), Ok(()));
    }
}
