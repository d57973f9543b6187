//! The server's library half: the Salesforce client, the sync engine, Conversion's data, the
//! JSON API and the app's assembly ([`startup`]), shared by the binary, the integration tests and
//! the benchmarks. The local org and the demo are behind the `local-org` feature.

// The router's Leptos view types (the settings frame around each page) nest deeper than the
// default limit when the pages are compiled into this crate's code.
#![recursion_limit = "256"]

pub mod accounts;
/// Alerts to a workspace's webhook when runs fail (the task that finds them and delivers them).
pub mod alerts;
pub mod config;
pub mod conversion;
/// The demo's history and simulated Conversion changes (feature `local-org`, on by default).
#[cfg(feature = "local-org")]
pub mod demo;
/// The local Salesforce org (feature `local-org`, on by default): the product syncs with it
/// through the same client as with a real org, and never imports it.
#[cfg(feature = "local-org")]
pub mod fake_org;
pub mod http;
pub mod keys;
pub mod maintenance;
pub mod retention;
pub mod salesforce;
pub mod secret;
pub mod startup;
pub mod sync;

/// mimalloc instead of glibc's allocator: a backfill allocates a few small strings per field of
/// every record on one thread and frees many of them on SQLite's worker thread, which sent
/// glibc's malloc down its slow paths (a third of the backfill's CPU in `_int_malloc`, `free` and
/// `malloc_consolidate`, measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in its `mimalloc.h`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Lets mimalloc keep memory it freed for a second before it hands it back to the OS, instead of
/// 10 ms. A backfill frees a set of results (tens of MB) and allocates the next one moments later;
/// handed back at once, every set was faulted in again as fresh huge pages the kernel had to zero
/// (`clear_page_erms`, 11% of a Bulk backfill's CPU, measured with perf). Called first thing by
/// `main`, and by the benchmarks that measure a backfill.
pub fn tune_allocator() {
    // SAFETY: sets one of mimalloc's global options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1_000) };
}
