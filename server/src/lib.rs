//! The server's library half: the Salesforce client and the local org, the sync engine,
//! Conversion's data and the JSON API, shared by the binary, the integration tests and the
//! benchmarks.

pub mod api;
pub mod bad_request;
pub mod connect;
pub mod conversion;
pub mod fake_org;
pub mod maintenance;
pub mod salesforce;
pub mod same_origin;
pub mod site;
pub mod sync;

/// mimalloc instead of glibc's allocator: a backfill allocates a few small strings per field of
/// every record on one thread and frees many of them on SQLite's worker thread, which sent
/// glibc's malloc down its slow paths (a third of the backfill's CPU in `_int_malloc`, `free` and
/// `malloc_consolidate`, measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
