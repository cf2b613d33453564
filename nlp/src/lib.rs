//! Intent classification, entity extraction and sentiment, all pure and small enough for WASM.
