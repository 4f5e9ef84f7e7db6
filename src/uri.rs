//! Connection URIs.
