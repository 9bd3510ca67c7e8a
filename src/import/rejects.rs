//! The rejects file: every bad row as it was read, with a `reason` column.

use std::fs::File;
use std::path::PathBuf;

use super::ImportError;

pub struct Rejects {
    path: PathBuf,
    headers: csv::StringRecord,
    writer: Option<csv::Writer<File>>,
}

impl Rejects {
    pub fn new(path: PathBuf, headers: csv::StringRecord) -> Self {
        Self {
            path,
            headers,
            writer: None,
        }
    }

    /// Written on the first bad row only: a clean import leaves no empty rejects file behind.
    /// The fields are bytes so that a row that is not UTF-8 is kept exactly as it was read.
    pub fn write(&mut self, fields: &csv::ByteRecord, reason: &str) -> Result<(), ImportError> {
        let failed = |e: csv::Error| ImportError::Rejects {
            path: self.path.clone(),
            message: e.to_string(),
        };
        if self.writer.is_none() {
            let mut writer = csv::Writer::from_path(&self.path).map_err(failed)?;
            writer
                .write_record(self.headers.iter().chain(["reason"]))
                .map_err(failed)?;
            self.writer = Some(writer);
        }
        let mut row = fields.clone();
        row.push_field(reason.as_bytes());
        self.writer
            .as_mut()
            .expect("opened above")
            .write_byte_record(&row)
            .map_err(failed)
    }

    pub fn finish(mut self) -> Result<(), ImportError> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().map_err(|e| ImportError::Rejects {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}
