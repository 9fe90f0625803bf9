//! lode's error type: every variant carries the file, layer, key or value at fault,
//! so a message tells a geologist what to fix without reading code.

use std::path::PathBuf;

/// Everything that can go wrong in a lode run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has unknown or mistyped keys.
    #[error("config file {path}: {message}")]
    ParseConfig {
        /// The config file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A config key has a value that cannot be used.
    #[error("config key `{key}`: {message}")]
    InvalidKey {
        /// Dotted key, e.g. `evidence[2].path`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A value given to a library call (not from a config file) cannot be used, e.g. an
    /// unknown preset name or an empty scene size.
    #[error("{name} `{value}`: {message}")]
    InvalidArgument {
        /// What the value is, e.g. `preset`.
        name: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input file does not exist.
    #[error("config key `{key}`: file {path} does not exist")]
    MissingFile {
        /// Dotted key naming the file.
        key: String,
        /// The resolved path.
        path: PathBuf,
    },
    /// GDAL could not open or read an input.
    #[error("{path}: {message}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// What GDAL or lode found wrong.
        message: String,
    },
    /// A vector layer is missing or unusable.
    #[error("{path}, layer `{layer}`: {message}")]
    Layer {
        /// The vector file.
        path: PathBuf,
        /// The layer name.
        layer: String,
        /// What is wrong.
        message: String,
    },
    /// Writing an output failed.
    #[error("writing {path}: {message}")]
    Output {
        /// The output (or its staging copy).
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The training data cannot support a model.
    #[error("training: {0}")]
    Training(String),
    /// A saved or fitted model cannot be used.
    #[error("model: {0}")]
    Model(String),

    /// Several problems found at once (`lode validate`), each on its own line.
    #[error("{} problems:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<Error>),
}

/// lode's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An input error from a GDAL error, naming the file.
    pub fn input(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::Input { path: path.into(), message: err.to_string() }
    }

    /// An output error, naming the file.
    pub fn output(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::Output { path: path.into(), message: err.to_string() }
    }

    /// A bad value for a config key.
    pub fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidKey { key: key.into(), message: message.into() }
    }
}
