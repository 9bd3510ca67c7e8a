//! Log lines on standard error, written in batches by a thread of their own, as web servers
//! buffer their access logs. A busy server logs a line a request; written one by one, each was
//! a `write` system call on an async worker, 3 % of a book by id's CPU. Here a request only
//! appends its line to a buffer, and the writer thread empties the buffer a few milliseconds
//! after the first line arrives, in one call for all the lines of that moment.
//!
//! No line is dropped: a writer that finds a megabyte already waiting (standard error slower
//! than the server) waits for it to drain. [`Flush`], held by `main`, writes what is left
//! when folio exits.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer lets lines gather after the first one of a batch.
const GATHER: Duration = Duration::from_millis(5);
/// Lines waiting beyond which a logging thread waits for the writer.
const MAX_WAITING: usize = 1 << 20;

#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    /// Exiting: the writer thread stops, and [`Flush`] writes what is left.
    closed: bool,
    /// Everything buffered is out: later lines are written directly.
    finished: bool,
}

#[derive(Default)]
struct Shared {
    lines: Mutex<Lines>,
    /// Signalled when the buffer gets its first line, and on close.
    arrived: Condvar,
    /// Signalled when the writer takes the buffer.
    taken: Condvar,
}

impl Shared {
    /// Nothing panics while holding the lock, and the bytes stay whole if something did.
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where the log subscriber writes: one handle per line, all sharing the buffer.
#[derive(Clone)]
pub struct BatchedStderr(Arc<Shared>);

impl Write for BatchedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut lines = self.0.lock();
        while lines.bytes.len() >= MAX_WAITING && !lines.closed {
            lines = self
                .0
                .taken
                .wait(lines)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if lines.finished {
            // After the last batch: straight out, still after every earlier line.
            drop(lines);
            return io::stderr().write(buf);
        }
        if lines.bytes.is_empty() {
            self.0.arrived.notify_one();
        }
        lines.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sink the batches go to, handed back by the writer thread when it stops.
type Sink = Box<dyn Write + Send>;

/// Stops the writer thread when dropped and writes what is still buffered.
pub struct Flush {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<Sink>>,
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        self.shared.taken.notify_all();
        let Some(Ok(mut sink)) = self.writer.take().map(JoinHandle::join) else {
            self.shared.lock().finished = true;
            return;
        };
        // The rest is written holding the lock, so a line logged meanwhile waits, then goes
        // out after it.
        let mut lines = self.shared.lock();
        let _ = sink.write_all(&lines.bytes).and_then(|()| sink.flush());
        lines.bytes = Vec::new();
        lines.finished = true;
    }
}

/// Starts the writer thread. Without a thread (the system refused one) lines go straight to
/// standard error, as if unbuffered.
pub fn start() -> (BatchedStderr, Flush) {
    start_writing_to(Box::new(io::stderr()))
}

/// [`start`] with the batches going to `sink` (standard error but in tests).
fn start_writing_to(mut sink: Sink) -> (BatchedStderr, Flush) {
    let shared = Arc::new(Shared::default());
    let writer = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("folio-log".into())
            .spawn(move || {
                write_batches(&shared, &mut sink);
                sink
            })
    };
    let writer = match writer {
        Ok(handle) => Some(handle),
        Err(_) => {
            let mut lines = shared.lock();
            lines.closed = true;
            lines.finished = true;
            None
        }
    };
    (BatchedStderr(shared.clone()), Flush { shared, writer })
}

/// Writes batches until [`Flush`] closes the buffer, leaving the rest to it.
fn write_batches(shared: &Shared, sink: &mut impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut lines = shared.lock();
        while lines.bytes.is_empty() && !lines.closed {
            lines = shared
                .arrived
                .wait(lines)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if lines.closed {
            return;
        }
        drop(lines);
        std::thread::sleep(GATHER);
        std::mem::swap(&mut shared.lock().bytes, &mut batch);
        shared.taken.notify_all();
        // Standard error gone (a closed pipe) loses the lines, as a direct write would.
        let _ = sink.write_all(&batch).and_then(|()| sink.flush());
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_arrives_whole_and_in_order_by_exit() {
        let captured = Captured::default();
        let (writer, flush) = start_writing_to(Box::new(captured.clone()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        // Long enough lines that the buffer passes its limit and writers wait.
                        let line = format!("thread {t} line {i} {}\n", "x".repeat(200));
                        writer.write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flush);

        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let mut next = [0; 4];
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let (t, i): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s lines in order");
            assert_eq!(words[4].len(), 200, "a whole line");
            next[t] += 1;
        }
        assert_eq!(next, [2000; 4], "no line lost");
    }
}
