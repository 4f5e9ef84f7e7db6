//! Stand-ins for a server's raw driver when the runner is built without
//! that backend's feature: every entry point says which feature to add, so
//! a server URI stops at once instead of failing half-way.

use std::error::Error as StdError;

/// The error of a server entry point built without its feature.
fn missing_feature(feature: &str) -> Box<dyn StdError + Send + Sync> {
    format!(
        "this needs the `{feature}` feature: \
         cargo bench --features {feature} --bench workload -- --uri ..."
    )
    .into()
}

/// Without the `postgres` feature: entry points that say so.
#[cfg(not(feature = "postgres"))]
pub(crate) mod raw_postgres {
    use super::missing_feature;
    use crate::BoxResult;
    use crate::raw_driver::RawDriver;

    pub(crate) fn create_schemas(_base: &str, _names: &[String]) -> BoxResult<()> {
        Err(missing_feature("postgres"))
    }

    /// Nothing can have been created.
    pub(crate) fn drop_schemas(_base: &str, _names: &[String]) -> BoxResult<()> {
        Ok(())
    }

    pub(crate) fn driver(_uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Err(missing_feature("postgres"))
    }
}

/// Without the `mysql` feature: entry points that say so.
#[cfg(not(feature = "mysql"))]
pub(crate) mod raw_mysql {
    use super::missing_feature;
    use crate::BoxResult;
    use crate::raw_driver::RawDriver;

    pub(crate) fn create_databases(_base: &str, _names: &[String]) -> BoxResult<()> {
        Err(missing_feature("mysql"))
    }

    /// Nothing can have been created.
    pub(crate) fn drop_databases(_base: &str, _names: &[String]) -> BoxResult<()> {
        Ok(())
    }

    pub(crate) fn driver(_uri: &str) -> BoxResult<Box<dyn RawDriver>> {
        Err(missing_feature("mysql"))
    }
}
