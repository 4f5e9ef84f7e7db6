//! The thread that owns one SQLite connection, and the hop to it.
//!
//! SQLite's calls block, so each connection lives on a thread of its own
//! and async callers send it jobs. The hop costs more than a short
//! statement does: waking a parked thread and then the waiting task takes
//! tens of microseconds on an idle virtual machine, against a few for a
//! point lookup. So both sides wait a little before they sleep: the thread
//! looks for its next job for up to [`THREAD_SPIN`] after finishing one,
//! and the caller looks for the answer for up to [`CALLER_SPIN`] before it
//! awaits. Both are bounded, so an idle connection costs nothing and a long
//! statement costs a few microseconds of spinning at most.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use tokio::sync::oneshot;

use super::NAME;
use crate::error::{Error, Result};

/// How long the thread keeps looking for a next job before it parks.
const THREAD_SPIN: Duration = Duration::from_micros(50);
/// How long a caller looks for its answer before it awaits it.
const CALLER_SPIN: Duration = Duration::from_micros(20);

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// The thread has stopped: its connection is gone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gone;

/// A handle on a connection's thread. The thread ends, closing the
/// connection, when the last handle is dropped and its queued jobs ran.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionThread {
    jobs: Sender<Job>,
}

impl ConnectionThread {
    /// Opens `path` on a new thread.
    pub(crate) async fn open(path: PathBuf, flags: OpenFlags) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, open_result) = oneshot::channel();
        std::thread::Builder::new()
            .name("aludel-sqlite".into())
            .spawn(
                move || match rusqlite::Connection::open_with_flags(path, flags) {
                    Ok(conn) => {
                        if opened.send(Ok(())).is_ok() {
                            serve(conn, &queue);
                        }
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                    }
                },
            )
            .map_err(|e| Error::Backend {
                backend: NAME,
                source: Box::new(e),
            })?;
        match open_result.await {
            Ok(Ok(())) => Ok(ConnectionThread { jobs }),
            Ok(Err(e)) => Err(Error::Connect {
                backend: NAME,
                source: Box::new(e),
            }),
            Err(_) => Err(Error::ConnectionLost {
                source: Some("the SQLite thread ended while opening the database".into()),
            }),
        }
    }

    /// Runs `job` on the connection's thread and returns its result.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> R + Send + 'static,
    ) -> std::result::Result<R, Gone> {
        let mut answer = self.submit(job)?;
        let spinning = Instant::now();
        loop {
            match answer.try_recv() {
                Ok(value) => return Ok(value),
                Err(oneshot::error::TryRecvError::Closed) => return Err(Gone),
                Err(oneshot::error::TryRecvError::Empty) if spinning.elapsed() < CALLER_SPIN => {
                    std::hint::spin_loop();
                }
                Err(oneshot::error::TryRecvError::Empty) => break,
            }
        }
        answer.await.map_err(|_| Gone)
    }

    /// Queues `job` without waiting for it: jobs run in the order sent.
    pub(crate) fn send(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) + Send + 'static,
    ) -> std::result::Result<(), Gone> {
        self.jobs.send(Box::new(job)).map_err(|_| Gone)
    }

    fn submit<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut rusqlite::Connection) -> R + Send + 'static,
    ) -> std::result::Result<oneshot::Receiver<R>, Gone> {
        let (reply, answer) = oneshot::channel();
        self.send(move |conn| {
            // The caller may have stopped waiting; the job ran all the same.
            let _ = reply.send(job(conn));
        })?;
        Ok(answer)
    }
}

/// The thread's loop: runs jobs until every handle is gone.
fn serve(mut conn: rusqlite::Connection, queue: &Receiver<Job>) {
    loop {
        let job = match next_job(queue) {
            Some(job) => job,
            None => return,
        };
        job(&mut conn);
    }
}

/// The next job: spinning for up to [`THREAD_SPIN`], then parked until one
/// comes. `None` when every handle is dropped.
fn next_job(queue: &Receiver<Job>) -> Option<Job> {
    let spinning = Instant::now();
    loop {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if spinning.elapsed() < THREAD_SPIN => {
                std::hint::spin_loop();
            }
            Err(TryRecvError::Empty) => return queue.recv().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_in_order_and_reports_a_closed_thread() {
        let dir = tempfile::tempdir().unwrap();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let thread = ConnectionThread::open(dir.path().join("t.db"), flags)
            .await
            .unwrap();
        thread
            .send(|conn| conn.execute_batch("CREATE TABLE t (x)").unwrap())
            .unwrap();
        for i in 0..100 {
            thread
                .send(move |conn| {
                    conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
                })
                .unwrap();
        }
        let sum: i64 = thread
            .call(|conn| {
                conn.query_row("SELECT sum(x) FROM t", [], |r| r.get(0))
                    .unwrap()
            })
            .await
            .unwrap();
        assert_eq!(sum, 4950);

        // A job that panics ends the thread; later calls say it is gone.
        let _ = thread.call(|_| panic!("boom")).await;
        assert!(thread.call(|_| ()).await.is_err());
    }

    #[tokio::test]
    async fn a_missing_folder_is_an_open_error() {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE;
        assert!(
            ConnectionThread::open("/nonexistent/dir/x.db".into(), flags)
                .await
                .is_err()
        );
    }
}
