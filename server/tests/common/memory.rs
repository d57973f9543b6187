//! The process's memory, for the benchmarks that report a peak (Linux).

/// Resident set now and its peak since the last [`reset_peak`], in kB.
pub fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// Starts the peak (`VmHWM`) again from the resident set now.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
