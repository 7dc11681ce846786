//! Progress on a terminal: the engine's `Observer` drawn as one indicatif bar per job with
//! bytes and rate. Hidden when stderr is not a terminal, with `--json` and `-q`.

use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::catalog::BackupStatus;
use crate::engine::backup::human_bytes;
use crate::engine::observe::{Counter, JobObserver, Observer};

/// The progress display of one command.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Draws on stderr when `visible` and stderr is a terminal.
    pub fn new(visible: bool) -> Self {
        let multi = (visible && std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }

    /// A bar for one job.
    fn bar(&self, label: &str) -> JobBar {
        let bar = match &self.multi {
            Some(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:30} {bytes:>10} {bytes_per_sec:>12} {elapsed:>4} {msg}",
                    )
                    .expect("valid template"),
                );
                bar.set_prefix(label.to_string());
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            }
            None => ProgressBar::hidden(),
        };
        JobBar {
            bar,
            written: Arc::default(),
        }
    }
}

/// The bar of one job: dump bytes read, and bytes written per destination in its message.
#[derive(Debug, Clone)]
pub struct JobBar {
    bar: ProgressBar,
    written: Arc<Mutex<Vec<(String, u64)>>>,
}

impl Observer for Progress {
    fn job(&self, label: &str) -> Box<dyn JobObserver> {
        Box::new(self.bar(label))
    }
}

impl JobObserver for JobBar {
    /// Advances the bar by the bytes read.
    fn read_counter(&self) -> Counter {
        let bar = self.bar.clone();
        Arc::new(move |n| bar.inc(n))
    }

    /// A callback that counts the bytes written to one destination, shown as
    /// `local 12.0 MiB · offsite 11.5 MiB`.
    fn destination_counter(&self, destination: &str) -> Counter {
        if self.bar.is_hidden() {
            return Arc::new(|_| {});
        }
        let index = {
            let mut written = self.written.lock().expect("not poisoned");
            written.push((destination.to_string(), 0));
            written.len() - 1
        };
        let (bar, written) = (self.bar.clone(), self.written.clone());
        Arc::new(move |n| {
            let mut written = written.lock().expect("not poisoned");
            written[index].1 += n;
            let message = written
                .iter()
                .map(|(name, bytes)| format!("{name} {}", human_bytes(*bytes)))
                .collect::<Vec<_>>()
                .join(" · ");
            bar.set_message(message);
        })
    }

    /// Removes the bar once its work is done.
    fn done(&self) {
        self.bar.finish_and_clear();
    }

    fn finish(&self, status: BackupStatus) {
        self.bar.finish_with_message(status.to_string());
    }
}
