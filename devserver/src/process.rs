//! How the dev server's process asks the kernel for memory.

/// Turns off transparent huge pages for this process. mimalloc advises the kernel to back its 1 GiB arena with 2 MiB
/// pages, and the first touch of each one zeroes 2 MiB while the request that touched it waits: in the catalogue
/// benchmark, about 60 such faults a run each held a request, and the 31 queued behind it, for 5 to 11 ms, and set
/// search's p99 (docs/BENCHMARKS.md). With 4 KiB pages the CPU per request did not change. Child processes inherit
/// the setting (the transcoder's ffmpeg); the `framelift transcode` benchmark runs outside the dev server.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
