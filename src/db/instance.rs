//! One server per SQLite database: `serve` holds an exclusive lock on `<database>.lock` for as
//! long as it runs, so a second `serve` on the same file refuses to start (two writers'
//! processes would each believe their caches, their checkpoint thread and their rate limits
//! are the only ones), and `db restore` refuses while a server runs. Other commands (`import`,
//! `export`, `db backup`) may run beside a server and take no lock.
//!
//! The lock is the operating system's (`flock`), released when the process ends however it
//! ends, so a crashed server leaves nothing to clean up. The file itself stays.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct SqliteLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another folio server is using {database} (it holds {lock})")]
    Held { database: PathBuf, lock: PathBuf },
    #[error("cannot open {lock}: {source}")]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SqliteLock {
    /// Takes the lock of `database`, or says who has it, without waiting.
    pub fn try_hold(database: &Path) -> Result<Self, LockError> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
                database: database.to_path_buf(),
                lock: path,
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}
