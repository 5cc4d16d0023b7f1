//! The kernel log: `log` crate records on the console, stamped with the time since reset.

use crate::arch::tsc;
use crate::console;
use libamoeba::boot::LogLevel;
use log::{LevelFilter, Metadata, Record};

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl log::Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warn",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        match tsc::nanos_since_reset() {
            Some(nanos) => console::write(format_args!(
                "[{:5}.{:06}] {level:<5} {}\n",
                nanos / 1_000_000_000,
                nanos % 1_000_000_000 / 1000,
                record.args()
            )),
            None => console::write(format_args!(
                "[     .      ] {level:<5} {}\n",
                record.args()
            )),
        }
    }

    fn flush(&self) {}
}

/// Installs the logger at the default level; the command line may change it later.
pub fn init() {
    // Only fails if a logger is already installed, which would be this same one.
    let _ = log::set_logger(&LOGGER);
    set_level(LogLevel::Info);
}

pub fn set_level(level: LogLevel) {
    log::set_max_level(match level {
        LogLevel::Error => LevelFilter::Error,
        LogLevel::Warn => LevelFilter::Warn,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Trace => LevelFilter::Trace,
    });
}
