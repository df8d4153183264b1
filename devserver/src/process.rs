//! How the dev server's process asks the kernel for memory.

/// Turns off transparent huge pages for this process. mimalloc advises the kernel to back its arena with 2 MiB pages,
/// and the first touch of each one zeroes 2 MiB while the request that touched it waits (the catalogue benchmark's
/// figures are in docs/BENCHMARKS.md). Child processes inherit the setting (the transcoder's ffmpeg).
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
