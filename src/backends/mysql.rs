//! The mysql backend (feature `mysql`). Not yet implemented.

use std::sync::Arc;

use crate::backends::{Backend, BackendContext};
use crate::error::{Error, Result};
use crate::uri::DatabaseUri;

/// Builds the mysql backend from a URI.
pub fn factory(_uri: &mut DatabaseUri, _context: &BackendContext) -> Result<Arc<dyn Backend>> {
    Err(Error::Unsupported {
        feature: "connecting".into(),
        backend: "mysql",
    })
}
