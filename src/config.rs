//! Pool and backend options.
